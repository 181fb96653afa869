import Foundation
import SiraData

/// The tokenizer stage's output: `tokenizer.json` (Hugging Face format, SiraData's BPE).
enum TokenizerFiles {
    static let fileName = "tokenizer.json"

    static func load(_ output: StageOutput) throws -> any StageTokenizer {
        try BPETokenizer(contentsOf: output.url(fileName))
    }
}

extension BPETokenizer: StageTokenizer {
    var vocabularySize: Int { vocabSize }
    var bos: Int { bosID }
    var eos: Int { eosID }
    var pad: Int { padID }
    func text(of ids: [Int]) -> String { decode(ids, skipSpecialTokens: true) }
}

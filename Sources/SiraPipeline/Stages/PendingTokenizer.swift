import Foundation

enum TokenizerFiles {
    static let fileName = "tokenizer.json"

    static func load(_ output: StageOutput) throws -> any StageTokenizer {
        throw StageFailure("the BPE tokenizer has not landed yet")
    }
}

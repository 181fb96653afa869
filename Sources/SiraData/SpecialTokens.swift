/// The special tokens of tokenizers trained here, and the chat role markers the chat template
/// writes into prompts. Each is a single token id in a trained tokenizer (never split by BPE) and
/// is recognised wherever its text appears in the input, as the `tokenizers` library does with
/// added tokens.
///
/// Ids, for a tokenizer trained here: 0–255 are the 256 single bytes (id = byte value), then the
/// learned merges in order, then these special tokens in the order of `all`.
public enum SpecialTokens {
    /// Begin of sequence: prepended to every encoded example; never scored.
    public static let bos = "<|bos|>"
    /// End of sequence: appended after every completion; scored, so the model learns to stop.
    public static let eos = "<|eos|>"
    /// Padding: fills fixed-length rows; never scored.
    public static let pad = "<|pad|>"
    /// Chat role markers: each turn of a chat record is written as marker + content.
    public static let system = "<|system|>"
    public static let user = "<|user|>"
    public static let assistant = "<|assistant|>"

    public static let all = [bos, eos, pad, system, user, assistant]

    /// The marker of a chat role ("system", "user", "assistant"), nil for an unknown role.
    public static func marker(forRole role: String) -> String? {
        switch role {
        case "system": return system
        case "user": return user
        case "assistant": return assistant
        default: return nil
        }
    }
}

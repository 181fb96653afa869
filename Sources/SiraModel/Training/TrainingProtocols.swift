/// Where the trainer's micro-batches come from. The pipeline implements it over SiraData's token
/// shards; tests over generated data.
///
/// The cursor is everything needed to continue the stream exactly where it stands (shard, offset,
/// epoch, shuffle state): the trainer saves it with its state and restores it on resume, so a
/// resumed run sees the same batches as an uninterrupted one.
public protocol BatchSource: AnyObject {
    associatedtype Batch
    associatedtype Cursor: Codable & Equatable

    /// The next micro-batch; advances the cursor.
    func nextBatch() throws -> Batch
    /// The position of the next batch.
    var cursor: Cursor { get }
    /// Repositions the stream; throws when the cursor does not fit this source.
    func restore(_ cursor: Cursor) throws
}

/// A model the trainer can optimise: one forward + backward per micro-batch, gradients
/// ACCUMULATED into `trainableParameters[i].grad` (the trainer scales, clips, steps and zeroes).
public protocol TrainableModel: AnyObject {
    associatedtype Batch

    /// The parameters AdamW updates, in a fixed order (their names key the saved state).
    var trainableParameters: [Parameter] { get }

    /// Forward + backward of the micro-batch's mean loss (task loss plus already-weighted
    /// auxiliary losses). `mode` is `.training(seed:)` with a fresh seed per micro-batch.
    func trainMicroBatch(_ batch: Batch, mode: AdapterMode) -> MicroBatchLoss

    /// SiRA routing of the last forward (merged over layers); nil for models without SiRA layers.
    var routerStatistics: RouterStatistics? { get }
}

extension TrainableModel {
    public var routerStatistics: RouterStatistics? { nil }
}

/// The loss of one micro-batch.
public struct MicroBatchLoss: Sendable, Equatable, Codable {
    /// Task loss + auxiliary: the quantity whose gradient was accumulated.
    public var loss: Float
    /// The adapters' weighted auxiliary losses (included in `loss`).
    public var auxiliary: Float
    /// Scored tokens in the micro-batch.
    public var tokens: Int

    public init(loss: Float, auxiliary: Float = 0, tokens: Int) {
        self.loss = loss
        self.auxiliary = auxiliary
        self.tokens = tokens
    }
}

import SiraStore

/// A stage a run took from the cache recorded no metrics in that run: they are in the run whose
/// attempt produced the output. `report` (loss curves) and `metrics` read them from there.
public enum CachedStageProducers {
    /// For every stage whose latest attempt in `detail` was cached, the successful attempt that
    /// produced its output (usually in an earlier run), in first-start order. Stages whose
    /// producer is no longer recorded are left out.
    public static func of(_ detail: RunDetail, store: RunStore) throws -> [(stage: StageRunRecord, producer: StageRunRecord)] {
        try StageAttempts.latest(detail.stages).compactMap { stage in
            guard stage.status == .cached, let key = stage.cacheKey,
                  let producer = try store.lastSuccessfulStage(cacheKey: key) else { return nil }
            return (stage, producer)
        }
    }
}

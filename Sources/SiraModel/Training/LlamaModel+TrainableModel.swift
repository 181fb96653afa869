/// The Llama model as the trainer sees it: micro-batches are `TokenBatch`es, the trainable
/// parameters are whatever is unfrozen — the adapters for adapter training, the base weights for
/// the built-in base's pretraining — in a fixed order (base, then adapters in attachment order).
extension LlamaModel: TrainableModel {
    public var trainableParameters: [Parameter] {
        (parameters + adapters.flatMap { $0.adapter.parameters }).filter(\.isTrainable)
    }

    public func trainMicroBatch(_ batch: TokenBatch, mode: AdapterMode) -> MicroBatchLoss {
        let result = forwardBackward(batch, mode: mode)
        return MicroBatchLoss(loss: result.loss, auxiliary: result.auxiliary, tokens: result.tokens)
    }

    public var routerStatistics: RouterStatistics? {
        RouterStatistics.merged(adapters.compactMap { ($0.adapter as? SiraAdapter)?.lastStatistics })
    }
}

extension AdapterSet {
    /// Builds one adapter per (layer, target module) of `model` and hooks them in, replacing any
    /// adapters already attached. The base weights are left as they are (freeze them first).
    public func attach(to model: LlamaModel) {
        model.attachAdapters(targetModules: config.targetModules, layers: config.layersToTransform) { layer, module, inFeatures, outFeatures in
            make(layer: layer, module: module, inFeatures: inFeatures, outFeatures: outFeatures)
        }
    }
}

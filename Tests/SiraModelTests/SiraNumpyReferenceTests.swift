import SiraIO
import Foundation
import Testing
@testable import SiraModel

/// SiRA's forward, auxiliary losses and capacity drops checked against an independent numpy
/// implementation of DESIGN.md §5 that reads the adapter file the way another tool would.
@Suite struct SiraNumpyReferenceTests {
    static let script = """
    import sys, json, math, numpy as np
    from safetensors import safe_open
    path, prefix, x_json, training = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "1"
    with safe_open(path, framework="numpy") as f:
        cfg = json.loads(f.metadata()["adapter_config"])
        W = {k: f.get_tensor(k).astype(np.float64) for k in f.keys()}
    E, k, r = cfg["num_experts"], cfg["top_k"], cfg["r"]
    s = cfg["lora_alpha"] / r
    Wg = W[prefix + ".sira.router.weight"]
    x = np.array(json.loads(x_json), dtype=np.float64).reshape(-1, Wg.shape[1])
    T = x.shape[0]
    logits = x @ Wg.T
    lse = np.log(np.exp(logits - logits.max(1, keepdims=True)).sum(1)) + logits.max(1)
    p = np.exp(logits - lse[:, None])
    choice = np.array([sorted(range(E), key=lambda e: (-p[t, e], e))[:k] for t in range(T)])
    gates = np.take_along_axis(p, choice, 1)
    if cfg["normalize_gates"]:
        gates = gates / gates.sum(1, keepdims=True)
    factor = cfg["capacity_factor"] if training else cfg["eval_capacity_factor"]
    cap = math.ceil(factor * k * T / E) if factor is not None else T * k
    load = [0] * E
    granted = np.zeros((T, k), dtype=bool)
    for j in range(k):
        for t in range(T):
            e = choice[t, j]
            if load[e] < cap:
                load[e] += 1
                granted[t, j] = True
    y = np.zeros((T, W[prefix + ".sira.experts.0.lora_B.weight"].shape[0]))
    for t in range(T):
        for j in range(k):
            if granted[t, j]:
                e = choice[t, j]
                A, B = W[f"{prefix}.sira.experts.{e}.lora_A.weight"], W[f"{prefix}.sira.experts.{e}.lora_B.weight"]
                y[t] += gates[t, j] * s * (B @ (A @ x[t]))
    f = np.bincount(choice[:, 0], minlength=E) / T
    balance = E * float((f * p.mean(0)).sum())
    z = float((lse ** 2).mean())
    print(json.dumps({"y": y.ravel().tolist(), "balance": balance, "z": z, "dropped": int((~granted).sum())}))
    """

    @Test(arguments: [true, false])
    func forwardMatchesNumpy(_ training: Bool) throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let cfg = AdapterConfig(type: .sira, r: 3, loraAlpha: 5, targetModules: ["q_proj"], numExperts: 7, topK: 3,
                                capacityFactor: 0.7, evalCapacityFactor: 1.1, normalizeGates: training,
                                auxLossWeight: 0.01, zLossWeight: 0.002)
        let set = try AdapterSet(config: cfg, seed: 3)
        let adapter = set.make(layer: 2, module: "q_proj", inFeatures: 11, outFeatures: 6) as! SiraAdapter
        var rng = Xoshiro256(seed: 4)
        for p in set.parameters where p.name.contains("lora_B") { fillRandom(p.value, scale: 0.5, rng: &rng) }
        fillRandom(adapter.router.value, scale: 1, rng: &rng)
        let url = folder.appendingPathComponent("sira.safetensors")
        try AdapterFiles.write(set, to: url)

        let probe = AdapterProbe(adapter: adapter, tokens: 33, mode: training ? .training(seed: 1) : .evaluation, rng: &rng)
        let y = probe.forward().y
        let xJSON = "[" + probe.x.map { "\($0)" }.joined(separator: ",") + "]"
        let out = try runPython(Self.script, arguments: [url.path, "base_model.model.model.layers.2.self_attn.q_proj", xJSON, training ? "1" : "0"])
        let ref = try #require(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any])
        let yRef = try #require(ref["y"] as? [Double])
        #expect(yRef.count == y.count)
        for i in y.indices { #expect(abs(Double(y[i]) - yRef[i]) < 1e-5, "y[\(i)]") }
        let stats = adapter.lastStatistics
        #expect(stats.dropped == ref["dropped"] as? Int)
        #expect(stats.dropped > 0, "the case exercises capacity drops")
        let balance = try #require(ref["balance"] as? Double), z = try #require(ref["z"] as? Double)
        #expect(abs(stats.balanceLoss - balance) < 1e-5 && abs(stats.zLoss - z) < 1e-4 * max(1, z))
        #expect(abs(Double(adapter.auxiliaryLoss) - (0.01 * balance + 0.002 * z)) < 1e-6 * max(1, z))
    }
}

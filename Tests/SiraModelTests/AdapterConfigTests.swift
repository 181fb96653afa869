import Foundation
import Testing
@testable import SiraModel

@Suite struct AdapterConfigTests {
    @Test func roundTripsThroughJSONWithPEFTKeys() throws {
        let cfg = AdapterConfig(type: .sira, r: 4, loraAlpha: 16, targetModules: ["q_proj", "down_proj"], numExperts: 16,
                                topK: 2, capacityFactor: nil, evalCapacityFactor: 2, expertDropout: 0.1,
                                normalizeGates: false, auxLossWeight: 0.02, zLossWeight: 0.001)
        let data = try JSONEncoder().encode(cfg)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(object["lora_alpha"] as? Double == 16 && object["r"] as? Int == 4)
        #expect(object["adapter_type"] as? String == "sira")
        #expect(object["capacity_factor"] is NSNull)
        #expect(try JSONDecoder().decode(AdapterConfig.self, from: data) == cfg)
    }

    @Test func readsPEFTLoraConfig() throws {
        let json = #"{"peft_type": "LORA", "r": 8, "lora_alpha": 32, "target_modules": ["q_proj", "v_proj"], "lora_dropout": 0.05, "bias": "none"}"#
        let cfg = try JSONDecoder().decode(AdapterConfig.self, from: Data(json.utf8))
        #expect(cfg.type == .lora && cfg.r == 8 && cfg.loraAlpha == 32 && cfg.targetModules == ["q_proj", "v_proj"])
        #expect(cfg.scaling == 4)
    }

    @Test func defaultsFollowTheDesign() throws {
        let cfg = try JSONDecoder().decode(AdapterConfig.self, from: Data(#"{"adapter_type": "sira"}"#.utf8))
        #expect(cfg.targetModules == ["q_proj", "v_proj", "up_proj", "down_proj"])
        #expect(cfg.normalizeGates && cfg.auxLossWeight == 0.01 && cfg.evalCapacityFactor == nil)
    }

    @Test(arguments: [
        (#"{"adapter_type": "sira", "top_k": 9, "num_experts": 8}"#, "top_k"),
        (#"{"adapter_type": "sira", "expert_dropout": 1.0}"#, "expert_dropout"),
        (#"{"adapter_type": "lora", "r": 0}"#, "r"),
        (#"{"adapter_type": "lora", "target_modules": ["qproj"]}"#, "target_modules"),
        (#"{"adapter_type": "ia3"}"#, "adapter_type"),
        (#"{"r": 4}"#, "adapter_type"),
    ])
    func invalidValuesNameTheKey(_ input: (String, String)) {
        do {
            _ = try JSONDecoder().decode(AdapterConfig.self, from: Data(input.0.utf8))
            Issue.record("accepted \(input.0)")
        } catch let AdapterConfigError.invalid(key, _) {
            #expect(key == input.1)
        } catch {
            Issue.record("unexpected \(error)")
        }
    }
}

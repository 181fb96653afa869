import SiraIO

/// Initialisation helpers shared by the adapters.
enum AdapterMath {
    /// Kaiming-uniform as PEFT initialises `lora_A` (`kaiming_uniform_(a=√5)`): U(-1/√in, 1/√in).
    static func kaimingUniform(_ t: Tensor, fanIn: Int, rng: inout Xoshiro256) {
        let bound = 1 / Float(fanIn).squareRoot()
        for i in 0..<t.count { t[i] = (rng.nextUnitFloat() * 2 - 1) * bound }
    }
}

import SiraKernels
import Foundation

// SiRA step 3: the LoRA experts on their computed rows. Forward and backward side by side.
// Shapes: T tokens, rows = plan.rows computed (token, expert) pairs grouped by expert, r = rank.
extension SiraAdapter {
    /// `y[t] += Σ_{computed rows i of t} w_i · B_e A_e x[t]` with `w_i = s · gate · keep`; keeps
    /// `hidden` (`h = x A_eᵀ` per row) and `rowWeight` for backward.
    func experts(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, tokens: Int) {
        let T = tokens, k = topK
        let rows = plan.rows
        // w = s · gate · keep                            [rows]
        rowWeight = plan.rowAssignment.map { a in scaling * plan.gates[Int(a)] * plan.keep[Int(a)] }
        // h_e = x[rows_e] A_eᵀ, x read in place          [rows, r]
        let h = hidden.reserve(rows * rank)
        plan.rowToken.withUnsafeBufferPointer { tok in
            let down = expertProblems { e, start, n in
                .init(m: n, n: rank, k: inFeatures, a: x, lda: inFeatures,
                      b: expertA[e].value.pointer, ldb: inFeatures, c: h + start * rank, ldc: rank,
                      aRows: tok.baseAddress! + start)
            }
            rowsComputed = down.reduce(0) { $0 + $1.m }
            sgemmGrouped(.noTranspose, .transpose, problems: down, alpha: 1, beta: 0)
        }
        // y[t] += Σ_j w · h B_eᵀ, fused with the up-projection   [T, out]
        guard T > 0 else { return }
        plan.slotRow.withUnsafeBufferPointer { slots in
            plan.choices.withUnsafeBufferPointer { experts in
                rowWeight.withUnsafeBufferPointer { w in
                    expertCombineAdd(tokens: T, slots: k, slotRows: slots.baseAddress!, slotExperts: experts.baseAddress!,
                                     h: h, ldh: rank, rank: rank, rowScale: w.baseAddress,
                                     .transpose, weights: expertB.map { UnsafePointer($0.value.pointer) }, ldw: rank,
                                     n: outFeatures, y: y, ldy: outFeatures)
                }
            }
        }
    }

    /// Backward of `experts`: accumulates `expertA/B` gradients and `dx`; returns `∂L/∂gate` per
    /// assignment `[T·k]` (zero for assignments not computed).
    func expertsBackward(x: UnsafePointer<Float>, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>,
                         tokens: Int) -> [Float] {
        let T = tokens, k = topK
        let h = hidden.pointer
        var dGate = [Float](repeating: 0, count: T * k)
        let rows = plan.rows
        let g = workspace.hiddenGradient.reserve(rows * rank), hw = workspace.weightedHidden.reserve(rows * rank)
        // G = dy[rows_e] B_e, dy read in place           [rows, r]
        plan.rowToken.withUnsafeBufferPointer { tok in
            sgemmGrouped(.noTranspose, .noTranspose, problems: expertProblems { e, start, n in
                .init(m: n, n: rank, k: outFeatures, a: dy, lda: outFeatures,
                      b: expertB[e].value.pointer, ldb: rank, c: g + start * rank, ldc: rank, aRows: tok.baseAddress! + start)
            }, alpha: 1, beta: 0)
        }
        // dgate = s · keep · <G, h>; hw = w h; dh = w G (in place over G)   [T·k], [rows, r], [rows, r]
        for i in 0..<rows {
            let w = rowWeight[i], a = Int(plan.rowAssignment[i])
            let gi = g + i * rank, hi = h + i * rank, hwi = hw + i * rank
            var dot: Float = 0
            for j in 0..<rank {
                dot += gi[j] * hi[j]
                hwi[j] = w * hi[j]
                gi[j] *= w
            }
            dGate[a] = scaling * dot * plan.keep[a]
        }
        plan.rowToken.withUnsafeBufferPointer { tok in
            // dB_e += dy[rows_e]ᵀ (w h)                  [out, r]
            sgemmGrouped(.transpose, .noTranspose, problems: expertProblems { e, start, n in
                guard let grad = expertB[e].grad else { return nil }
                return .init(m: outFeatures, n: rank, k: n, a: dy, lda: outFeatures,
                             b: hw + start * rank, ldb: rank, c: grad.pointer, ldc: rank, aRows: tok.baseAddress! + start)
            }, alpha: 1, beta: 1)
            // dA_e += dhᵀ x[rows_e]                      [r, in]
            sgemmGrouped(.transpose, .noTranspose, problems: expertProblems { e, start, n in
                guard let grad = expertA[e].grad else { return nil }
                return .init(m: rank, n: inFeatures, k: n, a: g + start * rank, lda: rank,
                             b: x, ldb: inFeatures, c: grad.pointer, ldc: inFeatures, bRows: tok.baseAddress! + start)
            }, alpha: 1, beta: 1)
        }
        // dx[t] += Σ_j dh A_e, the combine fused with the expert GEMM   [T, in]
        if T > 0 {
            plan.slotRow.withUnsafeBufferPointer { slots in
                plan.choices.withUnsafeBufferPointer { experts in
                    expertCombineAdd(tokens: T, slots: k, slotRows: slots.baseAddress!, slotExperts: experts.baseAddress!,
                                     h: g, ldh: rank, rank: rank, rowScale: nil,
                                     .noTranspose, weights: expertA.map { UnsafePointer($0.value.pointer) }, ldw: inFeatures,
                                     n: inFeatures, y: dx, ldy: inFeatures)
                }
            }
        }
        return dGate
    }

    /// One GEMM per expert with computed rows: `make(e, firstRow, rowCount)`; nil skips the expert.
    private func expertProblems(_ make: (Int, Int, Int) -> SgemmProblem?) -> [SgemmProblem] {
        (0..<experts).compactMap { e in
            let start = plan.rowOffsets[e], n = plan.rowOffsets[e + 1] - start
            return n > 0 ? make(e, start, n) : nil
        }
    }
}

import Foundation
import Testing
@testable import SiraIO

/// The GGUF writer's output read by the PyPI `gguf` package (an independent reader): every value
/// type, arrays, and F32 tensors of awkward shapes with their dimensions reversed as GGUF stores
/// them; and by our own reader.
@Suite struct GGUFWriterTests {
    @Test func pypiGGUFReadsEveryValueTypeAndTensorBack() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("gguf-writer-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        var w = GGUFWriter()
        let values: [(String, GGUFValue)] = [
            ("a.u8", .uint8(200)), ("a.i8", .int8(-7)), ("a.u16", .uint16(60000)), ("a.i16", .int16(-3000)),
            ("a.u32", .uint32(4_000_000_000)), ("a.i32", .int32(-123456)), ("a.u64", .uint64(1 << 40)),
            ("a.i64", .int64(-(1 << 40))), ("a.f32", .float32(0.15625)), ("a.f64", .float64(-2.5e-300)),
            ("a.bool", .bool(true)), ("a.str", .string("héllo ✓")),
            ("a.arr", .array(elementType: 5, [.int32(1), .int32(-2), .int32(3)])),
            ("a.strs", .array(elementType: 8, [.string("x"), .string("")])),
        ]
        for (k, v) in values { w.set(k, v) }
        let shapes = [[1], [7], [33, 3], [2, 1, 5]]
        for (i, shape) in shapes.enumerated() {
            let n = shape.reduce(1, *)
            try w.add(.init(name: "t\(i)", shape: shape, values: (0 ..< n).map { Float($0) * 0.5 - Float(i) }))
        }
        #expect(throws: GGUFError.self) { try w.add(.init(name: "t0", shape: [1], values: [0])) }
        #expect(throws: GGUFError.self) { try w.add(.init(name: "bad", shape: [2, 2], values: [0])) }
        let url = folder.appendingPathComponent("x.gguf")
        try w.write(to: url)

        let script = """
        import sys, json, numpy as np, gguf
        r = gguf.GGUFReader(sys.argv[1])
        out = {"fields": {}, "tensors": {}}
        for k, f in r.fields.items():
            if k.startswith("a."):
                out["fields"][k] = [f.contents(), [int(t) for t in f.types]]
        for t in r.tensors:
            assert t.tensor_type == gguf.GGMLQuantizationType.F32
            out["tensors"][t.name] = [[int(d) for d in t.shape], np.asarray(t.data, dtype=np.float64).ravel().tolist()]
        print(json.dumps(out))
        """
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", script, url.path]
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errText = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        try #require(p.terminationStatus == 0, "\(errText)")
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let fields = try #require(json["fields"] as? [String: [Any]])
        #expect(fields.count == values.count)
        let expectedTypes: [String: [Int]] = ["a.u8": [0], "a.i8": [1], "a.u16": [2], "a.i16": [3], "a.u32": [4], "a.i32": [5],
                                              "a.u64": [10], "a.i64": [11], "a.f32": [6], "a.f64": [12], "a.bool": [7],
                                              "a.str": [8], "a.arr": [9, 5], "a.strs": [9, 8]]
        for (k, types) in expectedTypes { #expect((fields[k]?[1] as? [Int]) == types, "\(k)") }
        #expect((fields["a.u32"]?[0] as? NSNumber)?.int64Value == 4_000_000_000)
        #expect((fields["a.i64"]?[0] as? NSNumber)?.int64Value == -(1 << 40))
        #expect((fields["a.f32"]?[0] as? Double) == 0.15625)
        #expect((fields["a.f64"]?[0] as? Double) == -2.5e-300)
        #expect((fields["a.bool"]?[0] as? Bool) == true)
        #expect((fields["a.str"]?[0] as? String) == "héllo ✓")
        #expect((fields["a.arr"]?[0] as? [Int]) == [1, -2, 3])
        #expect((fields["a.strs"]?[0] as? [String]) == ["x", ""])
        let tensors = try #require(json["tensors"] as? [String: [Any]])
        for (i, shape) in shapes.enumerated() {
            let t = try #require(tensors["t\(i)"])
            #expect((t[0] as? [Int]) == shape.reversed(), "t\(i): GGUF stores dimensions innermost first")
            #expect((t[1] as? [Double]) == (0 ..< shape.reduce(1, *)).map { Double(Float($0) * 0.5 - Float(i)) })
        }

        let ours = try GGUFFile(url)
        for (k, v) in values { #expect(ours[k] == v, "\(k)") }
        #expect(ours.tensors.map(\.shape) == shapes)
    }
}

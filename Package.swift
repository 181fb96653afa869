// swift-tools-version:6.1
import PackageDescription

/// The kernels are built for the CPU's vector units in release builds: AVX2 + FMA (x86-64-v3) on
/// x86_64, NEON (always present) on arm64. Without the flag Swift emits SSE only and
/// `SIMD*.addingProduct` becomes a libm call per lane. `-Ounchecked` drops the overflow checks
/// that block vectorisation in the hot loops; it is kept to SiraKernels, which has no throwing
/// function and whose callers pass shapes validated at the model's boundary.
///
/// SiraModel gets the vector target but keeps Swift's checks: its file readers throw, and with
/// `-Ounchecked` Swift 6.3 compiled `SafetensorsFile.read` to tail-call `memmove` with the error
/// register (r12) still holding `self`, so every successful load "threw" a dangling error and the
/// release build crashed in the caller's `catch` (issue 16, item 1).
#if arch(x86_64)
let kernelFlags: [SwiftSetting] = [
    .unsafeFlags(["-Ounchecked", "-Xcc", "-march=x86-64-v3", "-target-cpu", "haswell"], .when(configuration: .release)),
]
#else
let kernelFlags: [SwiftSetting] = [
    .unsafeFlags(["-Ounchecked"], .when(configuration: .release)),
]
#endif
#if arch(x86_64)
let modelFlags: [SwiftSetting] = [
    .unsafeFlags(["-Xcc", "-march=x86-64-v3", "-target-cpu", "haswell"], .when(configuration: .release)),
]
#else
let modelFlags: [SwiftSetting] = []
#endif

let package = Package(
    name: "sira-pipeline",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "sira-pipeline", targets: ["sira-pipeline"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", exact: "1.16.2"),
        .package(url: "https://github.com/groue/GRDB.swift", exact: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams", exact: "6.2.2"),
        .package(url: "https://github.com/apple/swift-system", exact: "1.8.1"),
        .package(url: "https://github.com/apple/swift-crypto", exact: "3.12.3"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", exact: "2.28.1"),
    ],
    targets: [
        .target(name: "SiraKernels", swiftSettings: kernelFlags),
        .target(name: "SiraIO", dependencies: [
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        .target(name: "SiraModel", dependencies: ["SiraKernels", "SiraIO"], swiftSettings: modelFlags),
        .target(name: "SiraData", dependencies: ["SiraIO"]),
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .target(name: "SiraStore", dependencies: [
            "CZstd", "SiraIO",
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        // Orchestration: manifest, graph, scheduler, executors, watcher, cron, recording. It does
        // not know the model (no SiraModel, no SiraKernels): stages are plugged in by SiraStages.
        .target(name: "SiraPipeline", dependencies: [
            "SiraData", "SiraStore", "SiraIO",
            .product(name: "Yams", package: "Yams"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "SystemPackage", package: "swift-system"),
        ]),
        // The stage implementations (ingest ... package), evaluation, comparison and merge.
        .target(name: "SiraStages", dependencies: [
            "SiraPipeline", "SiraKernels", "SiraModel", "SiraData", "SiraStore", "SiraIO",
            .product(name: "Logging", package: "swift-log"),
        ]),
        // The HTML report renderer (run records in, one self-contained page out).
        .target(name: "SiraReport", dependencies: ["SiraStages", "SiraPipeline", "SiraStore"]),
        // The live web UI over the run history (`sira-pipeline ui`); never imports SiraModel.
        .target(name: "SiraUI", dependencies: [
            "SiraStore",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Benchmarks apart from the product: `sira-pipeline bench ...` figures and their peers. It may
        // import product modules; only the CLI imports it.
        .target(name: "SiraBench", dependencies: ["SiraStore", "SiraIO"]),
        .executableTarget(name: "sira-pipeline", dependencies: [
            "SiraBench", "SiraReport", "SiraStages", "SiraUI", "SiraPipeline", "SiraKernels", "SiraModel", "SiraData", "SiraStore", "SiraIO",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "SiraIOTests", dependencies: ["SiraIO"]),
        .testTarget(name: "SiraKernelsTests", dependencies: ["SiraKernels"]),
        .testTarget(name: "SiraModelTests", dependencies: ["SiraModel", "SiraIO"], exclude: ["Fixtures"]),
        .testTarget(name: "SiraDataTests", dependencies: ["SiraData", "SiraIO"], exclude: ["Fixtures"]),
        .testTarget(name: "SiraStoreTests", dependencies: ["SiraStore"]),
        .testTarget(name: "SiraUITests", dependencies: ["SiraUI", "SiraStore"]),
        .testTarget(name: "SiraPipelineTests", dependencies: ["SiraPipeline", "SiraStages", "SiraReport", "SiraStore", "SiraData", "SiraModel", "SiraIO", "WatchTestHost", "sira-pipeline"]),
        // A watch daemon with a synthetic stage, run as a child process by the kill -9 tests.
        .executableTarget(name: "WatchTestHost", dependencies: [
            "SiraPipeline", "SiraIO", .product(name: "Logging", package: "swift-log"),
        ], path: "Tests/WatchTestHost"),
    ]
)

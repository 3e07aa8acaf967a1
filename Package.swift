// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Tessera",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "piece-storage", targets: ["piece-storage"]),
        .executable(name: "tessera", targets: ["tessera"]),
        .library(name: "TesseraCore", targets: ["TesseraCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // System libraries: Debian's -dev packages locally, Amazon Linux's -devel when building for Lambda.
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl",
                       providers: [.apt(["libcurl4-openssl-dev"]), .yum(["libcurl-devel"])]),
        // Amazon Linux 2 ships no pkg-config file for TurboJPEG: the module map links it by name.
        .systemLibrary(name: "CTurboJPEG",
                       providers: [.apt(["libturbojpeg0-dev"]), .yum(["turbojpeg-devel"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib",
                       providers: [.apt(["zlib1g-dev"]), .yum(["zlib-devel"])]),

        .target(name: "TesseraCore", dependencies: ["CCurl", "CTurboJPEG", "CZlib"]),
        // Developer tooling (local Runtime API, later the local stack); never linked into a function.
        .target(name: "TesseraLocal", dependencies: ["TesseraCore"]),

        .executableTarget(name: "piece-storage", dependencies: ["TesseraCore"]),
        // The developer and device CLI: `tessera send`, `tessera local`, later `tessera resize`.
        .executableTarget(name: "tessera", dependencies: [
            "TesseraCore", "TesseraLocal", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        .executableTarget(name: "noop-function", dependencies: ["TesseraCore"], path: "Benchmarks/noop-function"),
        .executableTarget(name: "runtime-bench", dependencies: ["TesseraCore", "TesseraLocal"],
                          path: "Benchmarks/runtime-bench"),

        .testTarget(name: "TesseraCoreTests", dependencies: ["TesseraCore", "TesseraLocal"]),
    ]
)

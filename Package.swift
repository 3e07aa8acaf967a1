// swift-tools-version:6.0
import PackageDescription

// What the layers a function links are compiled with: none of them uses Swift concurrency or regexes,
// so the implicitly imported _Concurrency and _StringProcessing (with _RegexParser) stay out of their
// imports (a dynamically linked function would otherwise load all three, and a static one could pull
// them in through one stray call). Concrete generic types' metadata comes from accessor functions,
// not from mangled names the runtime must demangle and check against every protocol conformance in
// the binary (piece-storage made six such lookups before its first /next). scripts/bench measures
// what each saves.
let lean: [SwiftSetting] = [.unsafeFlags([
    "-Xfrontend", "-disable-implicit-concurrency-module-import",
    "-Xfrontend", "-disable-implicit-string-processing-module-import",
    "-Xfrontend", "-disable-concrete-type-metadata-mangled-name-accessors",
])]

// One target a layer (DESIGN.md): a layer imports only the layers below it, and each function links
// only what it uses (piece-storage has no libturbojpeg).
let package = Package(
    name: "Tessera",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "piece-storage", targets: ["piece-storage"]),
        .executable(name: "picture-processor", targets: ["picture-processor"]),
        .executable(name: "picture-api", targets: ["picture-api"]),
        .executable(name: "tessera", targets: ["tessera"]),
        // The core library the functions share, layer by layer.
        .library(name: "TesseraCore", targets: [
            "TesseraSupport", "TesseraHTTP", "TesseraRuntime", "TesseraAWS", "TesseraEvents", "TesseraImaging",
            "TesseraPictures", "TesseraProcessor",
        ]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // template.yaml is read by the local stack (never by a function).
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
        // RSA for the local endpoint's JWT authorizer (never linked into a function).
        .package(url: "https://github.com/attaswift/BigInt", from: "6.0.1"),
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
        // MQTT client for the device CLI and the local stack's broker (never linked into a function).
        .systemLibrary(name: "CMosquitto", pkgConfig: "libmosquitto",
                       providers: [.apt(["libmosquitto-dev"])]),

        // What every layer uses: environment, reportable errors, hex, SHA-256, time, JSON text, sleeping.
        .target(name: "TesseraSupport", swiftSettings: lean),
        // libcurl client.
        .target(name: "TesseraHTTP", dependencies: ["CCurl", "TesseraSupport"], swiftSettings: lean),
        // Lambda Runtime API loop, context, deadline, logging.
        .target(name: "TesseraRuntime", dependencies: ["TesseraHTTP", "TesseraSupport"], swiftSettings: lean),
        // SigV4, credentials, retries, service clients.
        .target(name: "TesseraAWS", dependencies: ["TesseraHTTP", "TesseraSupport"], swiftSettings: lean),
        // Event models, parsed strictly.
        .target(name: "TesseraEvents", dependencies: ["TesseraSupport"], swiftSettings: lean),
        // JPEG inspect, limits, decode, resample, encode.
        .target(name: "TesseraImaging", dependencies: ["CTurboJPEG", "TesseraSupport"], swiftSettings: lean),
        // The domain: piece store, the functions' handlers, picture-api's routes and page (zlib for gzip).
        // The page is web/'s files, embedded at build time with their CSP hashes (docs/web-page.md).
        .target(name: "TesseraPictures", dependencies: [
            "CZlib", "TesseraSupport", "TesseraRuntime", "TesseraAWS", "TesseraEvents",
        ], swiftSettings: lean, plugins: ["EmbedWebPage"]),
        .plugin(name: "EmbedWebPage", capability: .buildTool(), dependencies: ["embed-web-page"]),
        // The plugin's tool: web/index.html with page.css and page.js inlined, as a Swift source (host only).
        .executableTarget(name: "embed-web-page", dependencies: ["TesseraSupport"]),
        // picture-processor's work: reassembly and resize, the one part of the domain that needs pixels
        // (so piece-storage and picture-api never link libturbojpeg).
        .target(name: "TesseraProcessor", dependencies: [
            "TesseraSupport", "TesseraRuntime", "TesseraAWS", "TesseraEvents", "TesseraImaging", "TesseraPictures",
        ], swiftSettings: lean),
        // Developer tooling (local Runtime API, emulator administration); never linked into a function.
        .target(name: "TesseraLocal", dependencies: [
            "CMosquitto", "TesseraSupport", "TesseraHTTP", "TesseraRuntime", "TesseraAWS", "TesseraEvents",
            .product(name: "Yams", package: "Yams"),
            .product(name: "BigInt", package: "BigInt"),
        ]),

        .executableTarget(name: "piece-storage", dependencies: ["TesseraRuntime", "TesseraPictures"], swiftSettings: lean),
        .executableTarget(name: "picture-processor", dependencies: ["TesseraRuntime", "TesseraProcessor"],
                         swiftSettings: lean),
        .executableTarget(name: "picture-api", dependencies: ["TesseraRuntime", "TesseraPictures"], swiftSettings: lean),
        // The developer and device CLI: `tessera send`, `tessera resize`, `tessera inspect`, `tessera local`.
        .executableTarget(name: "tessera", dependencies: [
            "TesseraSupport", "TesseraAWS", "TesseraEvents", "TesseraImaging", "TesseraPictures", "TesseraLocal",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        .executableTarget(name: "noop-function", dependencies: ["TesseraRuntime"], path: "Benchmarks/noop-function",
                         swiftSettings: lean),
        .executableTarget(name: "runtime-bench", dependencies: ["TesseraLocal"], path: "Benchmarks/runtime-bench"),
        .executableTarget(name: "render-process", dependencies: ["TesseraImaging"], path: "Benchmarks/render-process"),
        .executableTarget(name: "processor-bench", dependencies: ["TesseraProcessor", "TesseraLocal"],
                          path: "Benchmarks/processor-bench"),

        .testTarget(name: "TesseraTests", dependencies: [
            "CZlib", "TesseraSupport", "TesseraHTTP", "TesseraRuntime", "TesseraAWS", "TesseraEvents", "TesseraImaging",
            "TesseraPictures", "TesseraProcessor", "TesseraLocal",
        ]),
    ]
)

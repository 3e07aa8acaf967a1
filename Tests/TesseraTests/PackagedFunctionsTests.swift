import Foundation
import Glibc
import Testing
import TesseraHTTP
import TesseraLocal

/// What ships, started as Lambda starts it: the zips `scripts/package provided.al2023` wrote (scripts/test
/// makes them before `swift test`), each unpacked into a task folder by `tessera local up --package` and
/// run as `bootstrap` with only its own `lib/` on the loader's path, behind the local Runtime API and
/// the emulator, each serving real invocations.
struct PackagedFunctionsTests {
    static let root = LocalTemplateTests.root
    static let functions = ["piece-storage", "picture-processor", "picture-api"]

    @Test func eachZipServesARealInvocationAsLambdaStartsIt() throws {
        let packages = Self.root.appendingPathComponent(".build-lambda").path
        for function in Self.functions {
            try #require(FileManager.default.fileExists(atPath: "\(packages)/\(function).zip"),
                         "no \(packages)/\(function).zip: run scripts/package provided.al2023 first (scripts/test does)")
        }
        let state = NSTemporaryDirectory() + "tessera-zips-\(UUID().uuidString)"
        let (up, variables) = try LocalUpTests.startUp(state: state, ["--package", packages])
        defer { up.terminate() }
        let mqtt = try #require(variables["TESSERA_MQTT"], "no up.env: \(up.log)")
        let page = try #require(variables["TESSERA_PAGE_URL"])  // ends in "/"
        var environment = ProcessInfo.processInfo.environment
        environment.merge(variables) { _, new in new }

        // The processes serving the stack are the zips' bootstraps, and picture-processor loads the
        // libturbojpeg its zip carries, not this machine's.
        let tasks = URL(fileURLWithPath: state + "/task").resolvingSymlinksInPath().path
        let running = Self.processes(under: tasks)
        for function in Self.functions {
            #expect(running.contains { $0.executable == "\(tasks)/\(function)/bootstrap" }, "\(function) is not running from its zip: \(running)")
        }
        for process in running {
            #expect(process.environment["LD_LIBRARY_PATH"] == process.executable.dropLastPathComponent() + "/lib",
                    "\(process.executable): LD_LIBRARY_PATH \(process.environment["LD_LIBRARY_PATH"] ?? "unset")")
            #expect(!process.maps.contains("/.build/"), "\(process.executable) maps a file of the build tree")
        }
        let processor = try #require(running.first { $0.executable.hasSuffix("/picture-processor/bootstrap") })
        #expect(processor.maps.contains("\(tasks)/picture-processor/lib/libturbojpeg.so.0"), "\(processor.maps)")

        // piece-storage stores the pieces of a real photo, picture-processor joins them and renders it.
        let send = try LocalUpTests().run(["send", Fixtures.url("photos/fresh-flower.jpg").path, "--broker", mqtt,
                                           "--machine-id", "cam-zip", "--label", "shipped", "--state", state + "/send.json"],
                                          environment: environment)
        #expect(send.status == 0, "\(send.output)")
        let status = try LocalUpTests().run(["local", "status", "--machine-id", "cam-zip", "shipped", "--wait", "60"],
                                            environment: environment)
        #expect(status.output.contains("  status: ready"), "\(status.output)\n\(up.log)")
        #expect(status.output.contains("key: half/cam-zip/shipped.jpg"), "\(status.output)")
        #expect(status.output.contains("key: thumb/cam-zip/shipped.jpg"), "\(status.output)")
        #expect(status.output.contains("  picture.ready: {\"collection\":\"cam-zip\",\"name\":\"shipped\""), "\(status.output)")

        // picture-api serves the page and a presigned upload.
        let http = HTTPClient(options: .init(connectTimeoutMs: 2_000, timeoutMs: 20_000))
        let home = try http.send(HTTPRequest(method: "GET", url: page))
        #expect(home.status == 200, "\(home.status) \(home.text.prefix(300))")
        #expect(home.headers["content-type"]?.hasPrefix("text/html") == true, "\(home.headers)")
        #expect(home.text.lowercased().hasPrefix("<!doctype html>"), "\(home.text.prefix(100))")
        // As the user `local up` made in the template's user pool (the API needs a token by default).
        let token = try LocalUpTests.signIn(variables)
        let presign = try http.send(HTTPRequest(
            method: "POST", url: page + "uploads",
            headers: HTTPHeaders([("content-type", "application/json"), ("authorization", "Bearer " + token)]),
            body: Array(#"{"collection":"zips","name":"first","contentType":"image/jpeg","bytes":1234}"#.utf8)))
        #expect(presign.status == 201, "\(presign.status) \(presign.text)")
        let upload = try JSONSerialization.jsonObject(with: Data(presign.body)) as? [String: Any]
        #expect(upload?["key"] as? String == "zips/first.jpg", "\(presign.text)")
        #expect((upload?["url"] as? String)?.hasPrefix(variables["AWS_ENDPOINT_URL"] ?? "?") == true, "\(presign.text)")
        #expect((upload?["fields"] as? [String: Any])?["policy"] != nil, "\(presign.text)")

        // The loader printed nothing (no "no version information available", no missing library): every
        // line each function wrote is one of its JSON log lines.
        for function in Self.functions {
            let log = try String(contentsOfFile: "\(state)/logs/\(function).log", encoding: .utf8)
            let foreign = log.split(separator: "\n").filter { !$0.hasPrefix("{") }
            #expect(foreign.isEmpty, "\(function) printed lines that are not its JSON log: \(foreign.prefix(5))")
            if function != "picture-api" { #expect(!log.isEmpty, "\(function) logged nothing") }  // picture-api logs failures only
        }
        _ = try LocalUpTests().run(["local", "down", "--state", state], environment: environment)
    }

    /// A zip Lambda could not start is refused by name before the local stack starts anything.
    @Test func aZipWithoutAnExecutableBootstrapIsNamed() throws {
        let dir = try ELFCheckTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let stage = dir.appendingPathComponent("stage")
        try FileManager.default.createDirectory(at: stage, withIntermediateDirectories: true)
        try Data("#!/bin/sh\n".utf8).write(to: stage.appendingPathComponent("bootstrap"))
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: stage.appendingPathComponent("bootstrap").path)
        try Data("no bootstrap here\n".utf8).write(to: stage.appendingPathComponent("README"))
        for (zip, files) in [("not-executable", "bootstrap"), ("no-bootstrap", "README")] {
            let made = try ELFCheckTests.run(["/bin/sh", "-c", "cd '\(stage.path)' && zip -q '\(dir.path)/\(zip).zip' \(files)"], in: dir)
            try #require(made.status == 0, "\(made)")
        }
        let code = FunctionCode.packages(dir.path, tasks: dir.appendingPathComponent("task").path)
        for zip in ["not-executable", "no-bootstrap"] {
            #expect {
                try code.prepare([zip])
            } throws: { error in
                "\(error)".contains("\(dir.path)/\(zip).zip has no executable bootstrap at its top")
            }
        }
        #expect(throws: (any Error).self) { try code.prepare(["missing"]) }
    }

    struct Running: CustomStringConvertible {
        let executable: String
        let environment: [String: String]
        let maps: String
        var description: String { executable }
    }

    /// This user's processes whose executable lies under `folder`, with their environment and mappings.
    static func processes(under folder: String) -> [Running] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry -> Running? in
            guard pid_t(entry) != nil,
                  let executable = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(entry)/exe"),
                  executable.hasPrefix(folder + "/"),
                  let environ = readToEnd("/proc/\(entry)/environ"), let maps = readToEnd("/proc/\(entry)/maps")
            else { return nil }
            var environment: [String: String] = [:]
            for pair in environ.split(separator: 0) {
                let text = String(decoding: pair, as: UTF8.self)
                if let eq = text.firstIndex(of: "=") { environment[String(text[..<eq])] = String(text[text.index(after: eq)...]) }
            }
            return Running(executable: executable, environment: environment, maps: String(decoding: maps, as: UTF8.self))
        }
    }

    /// A /proc file whole (they report no size, and one read returns at most a page of them).
    static func readToEnd(_ path: String) -> Data? {
        guard let file = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? file.close() }
        return try? file.readToEnd()
    }
}

extension String {
    /// The folder part of a path (`/a/b/c` → `/a/b`).
    func dropLastPathComponent() -> String { (self as NSString).deletingLastPathComponent }
}

import Foundation
import Testing
import TesseraEvents
import TesseraSupport
import TesseraLocal

/// `tessera send` as a device runs it: the real binary publishing to a real mosquitto (MosquittoBroker),
/// checked by an MQTTClient subscriber, as the IoT rule would see the messages.
struct MQTTSendTests {
    /// template.yaml's PiecesTopic default; a device publishes to `<it>/<machine id>`.
    static let topicPrefix = "tessera/pieces"
    /// What the IoT rule reads: every device's topic.
    static let topic = topicPrefix + "/+"
    static let limits = IoTPieceMessage.Limits(maxPieces: 100_000, maxPieceBytes: IoTPieceMessage.maxPieceBytesCeiling)

    /// What a subscriber received, in arrival order (the test's own markers apart, see `settle`).
    final class Received: @unchecked Sendable {
        private let lock = NSLock()
        private var items: [(topic: String, payload: [UInt8])] = []
        private var markers: Set<[UInt8]> = []

        func add(_ topic: String, _ payload: [UInt8]) {
            lock.withLock {
                if payload.starts(with: MQTTSendTests.markerPrefix) { markers.insert(payload) } else { items.append((topic, payload)) }
            }
        }
        func hasMarker(_ marker: [UInt8]) -> Bool { lock.withLock { markers.contains(marker) } }
        var all: [(topic: String, payload: [UInt8])] { lock.withLock { items } }
        var messages: [IoTPieceMessage] {
            // As piece-storage gets them: through the template's IoT rule, which adds `thing` from the topic.
            get throws {
                try all.map {
                    try IoTPieceMessage.parse(PiecesRule.rule.event(topic: $0.topic, payload: $0.payload),
                                              limits: MQTTSendTests.limits)
                }
            }
        }
        var pieces: [(index: Int, data: [UInt8])] {
            get throws {
                try messages.compactMap { if case let .piece(_, _, index, data) = $0 { (index, data) } else { nil } }
            }
        }
        var end: IoTPieceMessage? {
            get throws { try messages.first { if case .end = $0 { true } else { false } } }
        }
        var hasEnd: Bool { (try? end) != nil }
    }

    /// A subscriber to `topic` on `broker`.
    static func subscribe(_ broker: MosquittoBroker, topic: String = topic, clientId: String = "test-subscriber",
                          onMessage: (@Sendable (String, [UInt8]) -> Void)? = nil) throws -> (MQTTClient, Received) {
        let received = Received()
        let client = try MQTTClient(broker: broker.url, clientId: clientId)
        try client.subscribe(topic) { topic, payload in
            received.add(topic, payload)
            onMessage?(topic, payload)
        }
        return (client, received)
    }

    /// Runs `tessera send` with `arguments`; its exit status, output and wall time.
    static func send(_ arguments: [String], timeout: Double = 60) throws -> (status: Int32, log: String, seconds: Double) {
        let binary = FunctionProcess.binDirectory.appendingPathComponent("tessera").path
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("send-\(UUID().uuidString).log").path
        defer { try? FileManager.default.removeItem(atPath: log) }
        let start = Date()
        let child = try ChildProcess([binary, "send"] + arguments, environment: ["PATH": "/usr/bin:/bin"], logPath: log)
        let exit = child.waitForExit(timeout: timeout)
        if exit == nil { child.terminate() }
        return (exit?.status ?? -1, child.log, Date().timeIntervalSince(start))
    }

    /// A temporary directory, removed by the caller.
    static func temporaryDirectory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mqtt-send-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    static let markerPrefix = Array("tessera-test-marker-".utf8)

    /// Returns once the subscriber has everything the broker took before now: a marker published after (and
    /// acknowledged) reaches the subscriber after those, as mosquitto forwards in the order it took them.
    /// A wait of fixed length says nothing on a loaded machine; this one ends when the marker arrives.
    static func settle(_ broker: MosquittoBroker, _ received: Received, topic: String = topic) throws {
        let marker = markerPrefix + Array(UUID().uuidString.utf8)
        let clientId = "marker-\(UUID().uuidString.prefix(8))"
        let client = try MQTTClient(broker: broker.url, clientId: clientId)
        defer { client.disconnect() }
        // A topic the subscriber's filter matches, and the one a client of this id may publish to.
        let concrete = topic.hasSuffix("/+") ? String(topic.dropLast()) + clientId : topic.contains("+") || topic.contains("#")
            ? "tessera/pieces/" + clientId : topic
        try client.publish(topic: concrete, payload: marker)
        try #require(eventually(60) { received.hasMarker(marker) }, "the marker published after the sends never arrived")
    }

    static func eventually(_ seconds: Double = 10, _ condition: () -> Bool) -> Bool {
        let limit = Date().addingTimeInterval(seconds)
        while Date() < limit {
            if condition() { return true }
            usleep(5_000)
        }
        return condition()
    }

    /// The photo's pieces as `tessera send` must cut them.
    static func cut(_ photo: [UInt8], _ size: Int) -> [[UInt8]] {
        stride(from: 0, to: photo.count, by: size).map { Array(photo[$0..<min($0 + size, photo.count)]) }
    }

    // MARK: a whole send

    @Test func sendsEveryPieceOnceThenENDAndTheFileReassembles() throws {
        let broker = try MosquittoBroker()
        defer { broker.stop() }
        let (subscriber, received) = try Self.subscribe(broker)
        defer { subscriber.disconnect() }
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }

        let path = Fixtures.url("photos/fresh-flower.jpg").path
        let photo = try Fixtures.bytes("photos/fresh-flower.jpg")
        let state = dir.appendingPathComponent("state.json").path
        let result = try Self.send([path, "--broker", broker.url, "--machine-id", "cam-7", "--label", "flower",
                                    "--piece-bytes", "4096", "--state", state])
        #expect(result.status == 0, "\(result.log)")
        #expect(Self.eventually { received.hasEnd }, "no END: \(result.log)\n\(broker.log)")

        let expected = Self.cut(photo, 4096)
        #expect(expected.count == 20)
        let messages = try received.messages
        #expect(received.all.allSatisfy { $0.topic == "tessera/pieces/cam-7" })
        #expect(messages.allSatisfy { $0.machineId == "cam-7" && $0.label == "flower" })
        let pieces = try received.pieces
        #expect(pieces.map(\.index).sorted() == Array(1...20), "each piece once: \(pieces.map(\.index))")
        for piece in pieces { #expect(piece.data == expected[piece.index - 1], "piece \(piece.index)") }
        // The base64 on the wire is the canonical encoding of the piece (parse() refuses anything else).
        let raw = String(decoding: received.all[0].payload, as: UTF8.self)
        #expect(raw.contains("\"data\":\"\(StrictBase64.encode(expected[pieces[0].index - 1]))\""))
        // END last, with the count, the whole file's SHA-256 and the content type.
        #expect(messages.last == .end(machineId: "cam-7", label: "flower", total: 20,
                                      sha256: hexString(SHA256.hash(photo)), contentType: "image/jpeg"))
        #expect(messages.count == 21)
        // In order (MQTT keeps one connection's QoS 1 messages in order): exactly IoTPieceMessage.split's messages.
        #expect(messages == IoTPieceMessage.split(photo, machineId: "cam-7", label: "flower", pieceBytes: 4096))
        #expect(pieces.sorted { $0.index < $1.index }.flatMap(\.data) == photo, "reassembled byte for byte")
        // Plain output: a summary; the state file is gone after a complete send.
        #expect(result.log.contains("sent \(path) as cam-7/flower: 20 pieces + END acknowledged by \(broker.url)"))
        #expect(result.log.contains("100%: 20/20 pieces"))
        #expect(!FileManager.default.fileExists(atPath: state))
    }

    @Test func defaultsMatchTheTemplateAndTheIoTCeiling() throws {
        // The IoT rule selects from template.yaml's PiecesTopic/+: the default prefix must be its default.
        let template = try String(contentsOf: Fixtures.directory.deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("template.yaml"), encoding: .utf8)
        let parameter = try #require(template.range(of: "  PiecesTopic:\n"))
        let defaultLine = try #require(template[parameter.upperBound...].split(separator: "\n")
            .prefix(3).first { $0.contains("Default:") })
        let templateTopic = defaultLine.split(separator: ":", maxSplits: 1)[1].trimmingCharacters(in: .whitespaces)
        #expect(templateTopic == Self.topicPrefix)

        let broker = try MosquittoBroker()
        defer { broker.stop() }
        let (subscriber, received) = try Self.subscribe(broker, topic: "#")
        defer { subscriber.disconnect() }
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }

        // The largest photo of the fixtures, default piece size (65536), shuffled with a duplicate.
        let photos = try FileManager.default.contentsOfDirectory(atPath: Fixtures.url("photos").path)
            .filter { $0.hasSuffix(".jpg") }
            .map { ($0, try Fixtures.bytes("photos/\($0)")) }
        let (name, photo) = try #require(photos.max { $0.1.count < $1.1.count })
        let result = try Self.send([Fixtures.url("photos/\(name)").path, "--broker", broker.url, "--machine-id", "cam-8",
                                    "--shuffle", "--state", dir.appendingPathComponent("s.json").path])
        #expect(result.status == 0, "\(result.log)")
        #expect(Self.eventually { received.hasEnd })
        #expect(received.all.allSatisfy { $0.topic == templateTopic + "/cam-8" })
        let pieces = try received.pieces
        let total = (photo.count + 65_535) / 65_536
        #expect(Set(pieces.map(\.index)) == Set(1...total))
        #expect(pieces.count == total + (total > 1 ? 1 : 0), "--shuffle sends one piece twice")
        var joined = [Int: [UInt8]]()
        for piece in pieces { joined[piece.index] = piece.data }
        #expect((1...total).flatMap { joined[$0]! } == photo)
        let label = String(name.prefix { $0 != "." })
        #expect(try received.end == .end(machineId: "cam-8", label: label, total: total,
                                         sha256: hexString(SHA256.hash(photo)), contentType: "image/jpeg"))

        // Over the ceiling: a usage error (ArgumentParser's status 64) before anything is sent.
        let sentBefore = received.all.count
        let tooBig = try Self.send([Fixtures.url("photos/\(name)").path, "--broker", broker.url,
                                    "--piece-bytes", String(IoTPieceMessage.maxPieceBytesCeiling + 1)])
        #expect(tooBig.status == 64, "\(tooBig.log)")
        #expect(tooBig.log.hasPrefix("Error: --piece-bytes must be 1 to \(IoTPieceMessage.maxPieceBytesCeiling) (a piece's base64 "
                                     + "and JSON must fit one 128 KB IoT Core message), got \(IoTPieceMessage.maxPieceBytesCeiling + 1)\n"
                                     + "Usage: tessera send"), "\(tooBig.log)")
        try Self.settle(broker, received)
        #expect(received.all.count == sentBefore, "nothing published for a usage error")
    }

    /// Each device publishes to its own topic, `<prefix>/<machine id>`: what the device policy allows and
    /// what the rule takes the thing name from.
    @Test func publishesToItsOwnTopicUnderThePrefix() throws {
        let broker = try MosquittoBroker()
        defer { broker.stop() }
        let (subscriber, received) = try Self.subscribe(broker, topic: "#")
        defer { subscriber.disconnect() }
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = Fixtures.url("photos/ladybird-420.jpg").path
        let state = dir.appendingPathComponent("s.json").path

        let result = try Self.send([path, "--broker", broker.url, "--machine-id", "cam-3", "--topic-prefix", "fleet/7",
                                    "--state", state])
        #expect(result.status == 0, "\(result.log)")
        #expect(Self.eventually { received.hasEnd })
        #expect(!received.all.isEmpty && received.all.allSatisfy { $0.topic == "fleet/7/cam-3" }, "\(received.all.map(\.topic))")
        #expect(!result.log.contains("warning"), "\(result.log)")

        // Another client id: sent as asked, with a warning that a policy-enforcing broker refuses it.
        let other = try Self.send([path, "--broker", broker.url, "--machine-id", "cam-3", "--client-id", "cam-4",
                                   "--label", "other", "--state", state])
        #expect(other.status == 0, "\(other.log)")
        #expect(other.log.contains("tessera send: warning: client id cam-4 is not the machine id cam-3: a broker that "
            + "enforces the stack's device policy lets cam-4 publish only to tessera/pieces/cam-4, so messages to "
            + "tessera/pieces/cam-3 are refused"), "\(other.log)")

        for bad in ["a/+/b", "#", "a//b", "a/", ""] {
            let refused = try Self.send([path, "--broker", broker.url, "--topic-prefix", bad, "--state", state])
            #expect(refused.status != 0, "\(bad)")
            #expect(refused.log.contains("--topic-prefix must be topic levels without wildcards or empty levels"),
                    "\(bad): \(refused.log)")
        }
    }

    // MARK: refusals

    @Test func aMissingFileOrANonJPEGIsAClearError() throws {
        let broker = try MosquittoBroker()
        defer { broker.stop() }
        let (subscriber, received) = try Self.subscribe(broker, topic: "#")
        defer { subscriber.disconnect() }
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }

        let photo = try Fixtures.bytes("photos/ladybird-420.jpg")
        let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + Array(repeating: 0, count: 64)
        let files: [(String, [UInt8]?, String)] = [
            ("missing.jpg", nil, "cannot read \(dir.path)/missing.jpg: No such file or directory"),
            ("image.png.jpg", png, "is not a JPEG: it does not start with FF D8 (its format: PNG)"),
            ("empty.jpg", [], "is not a JPEG: it does not start with FF D8 (the file is empty)"),
            ("notes.jpg", Array("hello, not a photo\n".utf8), "is not a JPEG: it does not start with FF D8"),
            ("truncated.jpg", Array(photo.prefix(photo.count / 2)), "is not a whole JPEG: it does not end with FF D9"),
        ]
        for (name, bytes, message) in files {
            let path = dir.appendingPathComponent(name).path
            if let bytes { try Data(bytes).write(to: URL(fileURLWithPath: path)) }
            let result = try Self.send([path, "--broker", broker.url, "--state", dir.appendingPathComponent("s.json").path])
            #expect(result.status == 1, "\(name): \(result.log)")
            #expect(result.log.contains("tessera send: "), "\(name): \(result.log)")
            #expect(result.log.contains(message), "\(name): \(result.log)")
            #expect(!result.log.contains("Usage:"), "\(name): a clear error, not the usage text")
        }
        try Self.settle(broker, received)
        #expect(received.all.isEmpty, "nothing published for a refused file: \(received.all.count) messages")
    }

    @Test func anUnreachableBrokerFailsFastNamingHostAndPort() throws {
        let port = try freeLoopbackPort()  // nothing listens there
        let result = try Self.send([Fixtures.url("photos/ladybird-420.jpg").path, "--broker", "mqtt://127.0.0.1:\(port)",
                                    "--state", FileManager.default.temporaryDirectory.appendingPathComponent("u-\(UUID()).json").path],
                                   timeout: 20)
        #expect(result.status == 1, "\(result.log)")
        #expect(result.seconds < 5, "took \(result.seconds) s")
        #expect(result.log.contains("cannot reach the MQTT broker at mqtt://127.0.0.1:\(port): connection refused"),
                "\(result.log)")
    }

    // MARK: resume

    @Test func resumeSendsOnlyWhatTheBrokerDidNotAcknowledge() throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let photo = try Fixtures.bytes("photos/fresh-flower.jpg")
        let path = dir.appendingPathComponent("photo.jpg").path
        try Data(photo).write(to: URL(fileURLWithPath: path))
        let state = dir.appendingPathComponent("state.json").path
        let expected = Self.cut(photo, 128)
        let total = expected.count  // 633
        // One message in flight at a time: piece n is published only after piece n-1 was acknowledged.
        let common = [path, "--machine-id", "cam-9", "--label", "resumed", "--piece-bytes", "128", "--window", "1",
                      "--state", state, "--timeout", "5"]

        // Run 1: the broker dies (SIGKILL) as soon as the subscriber sees piece 10.
        do {
            let broker = try MosquittoBroker()
            defer { broker.stop() }
            let pid = broker.pid
            let (subscriber, received) = try Self.subscribe(broker) { _, payload in
                if String(decoding: payload, as: UTF8.self).contains("\"count\":10,") { kill(pid, SIGKILL) }
            }
            defer { subscriber.disconnect() }
            let result = try Self.send(common + ["--broker", broker.url], timeout: 30)
            #expect(result.status == 1, "\(result.log)")
            #expect(result.log.contains("the connection to the MQTT broker at \(broker.url) was lost"), "\(result.log)")
            #expect(result.log.contains("END not acknowledged; the state is in \(state): run the same command with --resume"),
                    "\(result.log)")
            #expect(!received.hasEnd)
        }

        // The state names the file and the acknowledged pieces: 1 to 9 at least (piece 10 followed their
        // acknowledgements), not all. (A PUBACK means the broker took the piece: IoT Core then runs the rule.
        // This broker keeps nothing on disk, so what it had not yet forwarded died with it.)
        let saved = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: state))) as? [String: Any]
        let acknowledged = Set(try #require(saved?["acknowledged"] as? [Int]))
        #expect(saved?["sha256"] as? String == hexString(SHA256.hash(photo)))
        #expect(saved?["pieces"] as? Int == total)
        #expect(saved?["piece_bytes"] as? Int == 128)
        #expect(acknowledged.isSuperset(of: 1...9), "\(acknowledged.sorted())")
        #expect(acknowledged.count < total)

        let broker = try MosquittoBroker()
        defer { broker.stop() }
        let (subscriber, received) = try Self.subscribe(broker)
        defer { subscriber.disconnect() }

        // The file changed since: --resume refuses, and sends nothing.
        try Data(try Fixtures.bytes("photos/ladybird-420.jpg")).write(to: URL(fileURLWithPath: path))
        let changed = try Self.send(common + ["--broker", broker.url, "--resume"])
        #expect(changed.status == 1, "\(changed.log)")
        #expect(changed.log.contains("\(path) changed since the interrupted send recorded in \(state)"), "\(changed.log)")
        try Self.settle(broker, received)
        #expect(received.all.isEmpty, "nothing published for a changed file: \(received.all.count) messages")

        // The same file again: exactly the pieces not acknowledged, each once, then END.
        try Data(photo).write(to: URL(fileURLWithPath: path))
        let resumed = try Self.send(common + ["--broker", broker.url, "--resume"])
        #expect(resumed.status == 0, "\(resumed.log)")
        #expect(Self.eventually { received.hasEnd })
        let second = try received.pieces
        #expect(second.map(\.index).sorted() == (1...total).filter { !acknowledged.contains($0) })
        for piece in second { #expect(piece.data == expected[piece.index - 1], "piece \(piece.index)") }
        #expect(try received.messages.last == .end(machineId: "cam-9", label: "resumed", total: total,
                                                   sha256: hexString(SHA256.hash(photo)), contentType: "image/jpeg"))
        #expect(resumed.log.contains("resuming: \(acknowledged.count) of \(total) pieces were acknowledged before"),
                "\(resumed.log)")
        #expect(resumed.log.contains("\(second.count) pieces (of \(total)) + END acknowledged"), "\(resumed.log)")
        #expect(!FileManager.default.fileExists(atPath: state), "done: the state is removed")

        // --resume with nothing recorded sends everything.
        let again = try Self.send(common + ["--broker", broker.url, "--resume"])
        #expect(again.status == 0, "\(again.log)")
        #expect(again.log.contains("no interrupted send recorded in \(state): sending every piece"), "\(again.log)")
    }

    // MARK: TLS, as AWS IoT Core's device authentication

    /// A CA, a broker certificate for 127.0.0.1, a client certificate from that CA and one from another CA.
    static func makeCertificates(in dir: URL) throws {
        func openssl(_ arguments: [String]) throws {
            let log = dir.appendingPathComponent("openssl.log").path
            let child = try ChildProcess(["openssl"] + arguments, environment: ["PATH": "/usr/bin:/bin"], logPath: log)
            let status = child.waitForExit(timeout: 60)?.status
            try #require(status == 0, "openssl \(arguments.joined(separator: " ")): \(child.log)")
        }
        let at = { (name: String) in dir.appendingPathComponent(name).path }
        try "subjectAltName=IP:127.0.0.1,DNS:localhost\n".write(toFile: at("san.ext"), atomically: true, encoding: .utf8)
        for ca in ["ca", "other-ca"] {
            try openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", at("\(ca).key"), "-out", at("\(ca).crt"),
                         "-days", "2", "-subj", "/CN=Tessera test \(ca)"])
        }
        for (name, ca, extra) in [("server", "ca", ["-extfile", at("san.ext")]), ("device", "ca", []),
                                  ("rogue", "other-ca", [])] {
            try openssl(["req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", at("\(name).key"), "-out", at("\(name).csr"),
                         "-subj", "/CN=\(name)"])
            try openssl(["x509", "-req", "-in", at("\(name).csr"), "-CA", at("\(ca).crt"), "-CAkey", at("\(ca).key"),
                         "-CAcreateserial", "-out", at("\(name).crt"), "-days", "2"] + extra)
        }
    }

    @Test func tlsWithClientCertificatesAsAWSIoTCore() throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try Self.makeCertificates(in: dir)
        let at = { (name: String) in dir.appendingPathComponent(name).path }
        let broker = try MosquittoBroker(tls: .init(caFile: at("ca.crt"), certificateFile: at("server.crt"),
                                                    keyFile: at("server.key"), requireCertificate: true))
        defer { broker.stop() }
        let tlsURL = try #require(broker.tlsURL)
        let (subscriber, received) = try Self.subscribe(broker)
        defer { subscriber.disconnect() }
        let photo = try Fixtures.bytes("photos/fresh-flower.jpg")
        let path = Fixtures.url("photos/fresh-flower.jpg").path

        let ok = try Self.send([path, "--broker", tlsURL, "--cert", at("device.crt"), "--key", at("device.key"),
                                "--ca", at("ca.crt"), "--machine-id", "cam-tls", "--state", at("s.json")])
        #expect(ok.status == 0, "\(ok.log)\n\(broker.log)")
        #expect(Self.eventually { received.hasEnd })
        #expect(try received.end == .end(machineId: "cam-tls", label: "fresh-flower", total: 2,
                                         sha256: hexString(SHA256.hash(photo)), contentType: "image/jpeg"))
        #expect(try received.pieces.sorted { $0.index < $1.index }.flatMap(\.data) == photo)

        // A device certificate from another CA: refused, quickly, saying what to check.
        let rogue = try Self.send([path, "--broker", tlsURL, "--cert", at("rogue.crt"), "--key", at("rogue.key"),
                                   "--ca", at("ca.crt"), "--machine-id", "cam-rogue", "--state", at("r.json")], timeout: 30)
        #expect(rogue.status == 1, "\(rogue.log)")
        #expect(rogue.seconds < 10)
        #expect(rogue.log.contains("the MQTT broker at \(tlsURL) refused the connection"), "\(rogue.log)")
        #expect(rogue.log.contains("check the certificate, key and policy"), "\(rogue.log)")

        // The broker's certificate checked against the wrong CA: a TLS error naming the CA file.
        let wrongCA = try Self.send([path, "--broker", tlsURL, "--cert", at("device.crt"), "--key", at("device.key"),
                                     "--ca", at("other-ca.crt"), "--state", at("w.json")], timeout: 30)
        #expect(wrongCA.status == 1)
        #expect(wrongCA.log.contains("the broker's certificate did not verify against the CA file \(at("other-ca.crt"))"),
                "\(wrongCA.log)")
        #expect(try received.messages.count == 3, "nothing from the refused devices")
    }

    // MARK: the client and broker themselves

    @Test func MQTTClientWindowWildcardsAndTheIoTMessageSize() throws {
        let broker = try MosquittoBroker()
        defer { broker.stop() }
        let (subscriber, received) = try Self.subscribe(broker, topic: "devices/+/pieces")
        defer { subscriber.disconnect() }
        let publisher = try MQTTClient(broker: broker.url, clientId: "publisher", window: 5)
        defer { publisher.disconnect() }

        // 200 messages through a window of 5; each acknowledgement reported once.
        final class Count: @unchecked Sendable { let lock = NSLock(); var value = 0 }
        let acks = Count()
        for number in 1...200 {
            try publisher.publishWindowed(topic: "devices/d\(number % 3)/pieces", payload: Array("m\(number)".utf8)) {
                acks.lock.withLock { acks.value += 1 }
            }
            #expect(publisher.unacknowledgedCount <= 5)
        }
        try publisher.waitForAcknowledgements()
        #expect(acks.lock.withLock { acks.value } == 200)
        try publisher.publish(topic: "devices/x/other", payload: [1])  // not matched by the filter
        // The largest AWS IoT Core message (128 KB) passes the local broker.
        let biggest = [UInt8](repeating: 0x41, count: IoTPieceMessage.maxMessageBytes)
        try publisher.publish(topic: "devices/big/pieces", payload: biggest)
        #expect(Self.eventually { received.all.count == 201 })
        #expect(received.all.prefix(200).map { String(decoding: $0.payload, as: UTF8.self) } == (1...200).map { "m\($0)" })
        #expect(received.all.last?.payload == biggest)

        // Over IoT Core's limit: the local broker drops the connection, as IoT Core refuses it.
        #expect(throws: MQTTError.self) {
            try publisher.publish(topic: "devices/big/pieces",
                                  payload: [UInt8](repeating: 0x41, count: MosquittoBroker.maxPacketBytes + 1), timeout: 5)
        }
        #expect(!publisher.isConnected)
        #expect(publisher.connectionFailure != nil)
    }

    /// The local broker enforces the device policy: a client publishes only to `tessera/pieces/<its client
    /// id>` (anything else is acknowledged and dropped, MQTT 3.1.1 having no refusal for a publish), reads
    /// nothing; the rules' reader, with its password, reads everything.
    @Test func theBrokerLetsADevicePublishOnlyToItsOwnTopic() throws {
        let reader = MQTTClient.Credentials(username: "rules", password: "s3cret-\(UUID().uuidString)")
        let broker = try MosquittoBroker(accessControl: .init(publishPatterns: ["tessera/pieces/%c"], reader: reader))
        defer { broker.stop() }
        let received = Received()
        let rules = try MQTTClient(broker: broker.url, clientId: "rules", credentials: reader)
        defer { rules.disconnect() }
        try rules.subscribe("#") { topic, payload in received.add(topic, payload) }

        let camA = try MQTTClient(broker: broker.url, clientId: "cam-a")
        defer { camA.disconnect() }
        try camA.publish(topic: "tessera/pieces/cam-a", payload: Array("own-1".utf8))
        // Acknowledged (PUBACK), and dropped: another device's topic, or no device's.
        try camA.publish(topic: "tessera/pieces/cam-b", payload: Array("as-cam-b".utf8))
        try camA.publish(topic: "tessera/pieces", payload: Array("bare-prefix".utf8))
        try camA.publish(topic: "tessera/pieces/cam-a/x", payload: Array("deeper".utf8))
        try camA.publish(topic: "elsewhere", payload: Array("elsewhere".utf8))
        try camA.publish(topic: "tessera/pieces/cam-a", payload: Array("own-2".utf8))
        // The broker forwards one client's messages in order: once own-2 is there, the others would be too.
        #expect(Self.eventually { received.all.count >= 2 })
        usleep(300_000)
        #expect(received.all.map(\.topic) == ["tessera/pieces/cam-a", "tessera/pieces/cam-a"])
        #expect(received.all.map { String(decoding: $0.payload, as: UTF8.self) } == ["own-1", "own-2"])

        // A device reads nothing, not even its own topic (mosquitto grants the subscription and delivers
        // nothing the ACL does not let it read).
        let overheard = Received()
        try camA.subscribe("#") { topic, payload in overheard.add(topic, payload) }
        // The reader's account needs its password.
        let wrong = #expect(throws: MQTTError.self) {
            try MQTTClient(broker: broker.url, clientId: "intruder",
                           credentials: .init(username: reader.username, password: "guess"))
        }
        #expect("\(wrong.map { "\($0)" } ?? "")".contains("refused the connection"), "\(wrong.map { "\($0)" } ?? "")")
        // Locally the client id is the identity (no certificates on this listener): whoever connects as
        // cam-b publishes as cam-b, as a device holding cam-b's certificate does on AWS.
        let camB = try MQTTClient(broker: broker.url, clientId: "cam-b")
        defer { camB.disconnect() }
        try camB.publish(topic: "tessera/pieces/cam-b", payload: Array("own-b".utf8))
        try camA.publish(topic: "tessera/pieces/cam-a", payload: Array("own-3".utf8))
        #expect(Self.eventually { received.all.count == 4 })
        #expect(received.all.suffix(2).map(\.topic) == ["tessera/pieces/cam-b", "tessera/pieces/cam-a"])
        #expect(overheard.all.isEmpty, "a device read \(overheard.all.map(\.topic))")
    }

    @Test func MQTTBrokerURLsAndAMissingMosquitto() throws {
        #expect(try MQTTClient.Broker(parsing: "mqtt://127.0.0.1:1883") == .init(useTLS: false, host: "127.0.0.1", port: 1883))
        #expect(try MQTTClient.Broker(parsing: "mqtts://a1b2-ats.iot.eu-west-1.amazonaws.com")
            == .init(useTLS: true, host: "a1b2-ats.iot.eu-west-1.amazonaws.com", port: 8883))
        #expect(try MQTTClient.Broker(parsing: "mqtt://[::1]:1884/").address == "[::1]:1884")
        for bad in ["127.0.0.1:1883", "http://x:1", "mqtt://:1883", "mqtt://h:0", "mqtt://h:99999", "mqtt://h:1/topic"] {
            #expect(throws: MQTTError.self, "\(bad)") { try MQTTClient.Broker(parsing: bad) }
        }
        let missing = #expect(throws: MosquittoBrokerError.self) { try MosquittoBroker(executable: "/nonexistent/mosquitto") }
        #expect("\(missing.map { "\($0)" } ?? "")" == "mosquitto is not installed (no executable /nonexistent/mosquitto): "
            + "run scripts/setup (it installs Debian's mosquitto)")
    }
}

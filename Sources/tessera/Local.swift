import ArgumentParser
import Glibc
import TesseraAWS
import TesseraEvents
import TesseraLocal
import TesseraPictures
import TesseraSupport

/// `tessera local`: the whole pipeline on this machine (template.yaml's resources in the AWS emulator,
/// the functions, an MQTT broker, the page), and a look at what it holds.
struct Local: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the local stack and look at it.",
        subcommands: [Up.self, Down.self, Status.self])

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Whether the local stack runs; with a label, a picture's pieces, item, journey through the logs and notifications.")

        @Option(help: "The device's id (the collection).") var machineId = "cam-1"
        @Option(help: "Wait up to this many seconds for the picture to be processed (ready or failed).") var wait = 0
        @Option(help: "Folder of `tessera local up`'s state files.") var state = ".local"
        @Argument(help: "The picture's label (its name); without one, the local stack's state.") var label: String?

        func run() throws {
            guard let label else { return try showStack() }
            let env = Environment.process()
            let aws = AWSClient(config: try AWSConfig.fromEnvironment(env))
            let db = DynamoDBClient(aws: aws)
            let table = try env.required("PICTURES_TABLE")
            let key: Item = ["collection": .s(machineId), "name": .s(label)]
            let start = monotonicNanoseconds()
            while wait > 0, Double(monotonicNanoseconds() - start) / 1e9 < Double(wait) {
                // Processed and notified: the notification is the last step.
                if let item = try db.getItem(table: table, key: key, consistentRead: true),
                   ["ready", "failed"].contains(item["status"]?.string), item["notified"]?.boolValue == true { break }
                sleepSeconds(0.5)
            }
            let id = PieceStore.pictureId(machineId: machineId, label: label)
            let items = try db.queryAll(
                table: try env.required("PIECES_TABLE"),
                keyCondition: .init("#id = :id", names: ["#id": "pictureId"], values: [":id": .s(id)]),
                consistentRead: true)
            let pieces = items.compactMap { $0["piece"]?.int }.filter { $0 > 0 }
            let end = items.first { $0["piece"]?.int == 0 }
            say("pieces of \(id): \(pieces.count) stored, END "
                + (end.map { "recorded (\($0["total"]?.int ?? 0) pieces)" } ?? "not recorded")
                + (items.isEmpty ? " (none left: reassembled, or never sent)" : ""))
            if let item = try db.getItem(table: table, key: key, consistentRead: true) {
                say("pictures item \(machineId)/\(label):")
                for name in item.keys.sorted() { say("  \(name): \(Self.show(item[name]!))") }
            } else {
                say("pictures item \(machineId)/\(label): none yet")
            }
            // Its journey: every function's log lines about it (their `picture`), in time order.
            let journey = PictureJourney.steps(of: id, logDirectory: "\(state)/logs")
            say("journey of \(id) (\(state)/logs): \(journey.count) log lines")
            for step in journey { say("  \(step.timestamp) \(step.function) \(step.level) \(step.message)") }
            if let watch = env["NOTIFICATIONS_QUEUE_URL"] {
                // A peek: visibility timeout 0 leaves the messages for the next look.
                let messages = try SQSClient(aws: aws).receiveMessages(queueURL: watch, max: 10, visibilityTimeout: 0)
                say("notifications: \(messages.count)")
                for message in messages {
                    guard case let .object(envelope)? = try? JSONValue.parse(Array(message.Body.utf8)),
                          case let .string(text)? = envelope["Message"] else { continue }
                    // The `event` message attribute subscribers filter on: picture.ready, .failed, .incomplete.
                    var event = "notification"
                    if case let .object(attributes)? = envelope["MessageAttributes"], case let .object(field)? = attributes["event"],
                       case let .string(value)? = field["Value"] { event = value }
                    say("  \(event): \(text)")
                }
            }
        }

        /// Whether `tessera local up` runs, and where its page and broker are.
        func showStack() throws {
            guard let pid = LocalUp.runningPid(state) else {
                say("the local stack is not running (start it with `tessera local up`)")
                return
            }
            let variables = readFile("\(state)/up.env").map { String(decoding: $0, as: UTF8.self) } ?? ""
            say("the local stack is running (process \(pid))")
            for line in variables.split(separator: "\n") where ["TESSERA_PAGE_URL", "TESSERA_MQTT", "AWS_ENDPOINT_URL"]
                .contains(where: { line.hasPrefix("export \($0)=") }) {
                say("  " + line.dropFirst("export ".count).filter { $0 != "'" })
            }
        }

        static func show(_ value: AttributeValue) -> String {
            switch value {
            case let .s(text): text
            case let .n(number): number
            case let .bool(flag): String(flag)
            case let .m(map): "{" + map.keys.sorted().map { "\($0): \(show(map[$0]!))" }.joined(separator: ", ") + "}"
            case let .l(list): "[" + list.map(show).joined(separator: ", ") + "]"
            default: "\(value)"
            }
        }
    }
}

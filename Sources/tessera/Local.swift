import ArgumentParser
import Glibc
import TesseraAWS
import TesseraEvents
import TesseraLocal
import TesseraPictures
import TesseraSupport

/// `tessera local`: the local stack's resources in the AWS emulator, and picture-processor run over
/// its queues as Lambda's event source mapping would.
struct Local: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Work with the local stack's resources in the AWS emulator.",
        subcommands: [Up.self, Down.self, Status.self, Init.self, Process.self, Serve.self])

    /// Names the local stack gives its resources (template.yaml's resources, one each).
    enum Names {
        static let piecesTable = "tessera-pieces", picturesTable = "tessera-pictures"
        static let originals = "tessera-originals", renditions = "tessera-renditions"
        static let reassemblyQueue = "tessera-reassembly", resizeQueue = "tessera-resize"
        static let topic = "tessera-notify", watchQueue = "tessera-notifications"
    }

    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create the tables, buckets, queues and topic; print their environment variables.")

        func run() throws {
            let aws = AWSClient(config: try AWSConfig.fromEnvironment(.process()))
            let db = DynamoDBClient(aws: aws), sqs = SQSClient(aws: aws), s3 = S3Client(aws: aws), sns = SNSClient(aws: aws)
            for (table, keys) in [(Names.piecesTable, (("pictureId", "S"), ("piece", "N"))),
                                  (Names.picturesTable, (("collection", "S"), ("name", "S")))] {
                do {
                    try db.createTable(.init(name: table, partitionKey: keys.0, sortKey: keys.1))
                } catch let error as AWSError where error.code == "ResourceInUseException" {
                    // Already there from an earlier run.
                }
            }
            try db.enableTimeToLive(table: Names.piecesTable, attribute: "expiresAt")
            func queueWithDeadLetters(_ name: String, receives: Int) throws -> String {
                let dlq = try sqs.createQueue(name: name + "-dlq")
                return try sqs.createQueue(name: name, attributes: [
                    "VisibilityTimeout": "5",
                    "RedrivePolicy": "{\"deadLetterTargetArn\":\"\(try sqs.queueARN(queueURL: dlq))\",\"maxReceiveCount\":\"\(receives)\"}",
                ])
            }
            let reassembly = try queueWithDeadLetters(Names.reassemblyQueue, receives: 5)
            let resize = try queueWithDeadLetters(Names.resizeQueue, receives: 5)
            try s3.createBucket(Names.originals)
            try s3.createBucket(Names.renditions)
            try s3.notifyQueueOnCreate(bucket: Names.originals, queueARN: try sqs.queueARN(queueURL: resize))
            let topic = try sns.createTopic(name: Names.topic)
            let watch = try sqs.createQueue(name: Names.watchQueue)
            try sns.subscribeQueue(topicARN: topic, queueARN: try sqs.queueARN(queueURL: watch))
            for (name, value) in [("PIECES_TABLE", Names.piecesTable), ("REASSEMBLY_QUEUE_URL", reassembly),
                                  ("ORIGINALS_BUCKET", Names.originals), ("RENDITIONS_BUCKET", Names.renditions),
                                  ("PICTURES_TABLE", Names.picturesTable), ("NOTIFY_TOPIC_ARN", topic),
                                  ("REASSEMBLY_MAX_ATTEMPTS", "5"), ("RESIZE_QUEUE_URL", resize),
                                  ("NOTIFICATIONS_QUEUE_URL", watch)] {
                print("export \(name)=\(value)")
            }
        }
    }

    struct Process: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run picture-processor over the reassembly and resize queues until both are empty.")

        @Option(help: "The picture-processor binary; default: the one built beside this tool.")
        var function: String?

        @Option(help: "Most polls of each queue.") var rounds = 10

        func run() throws {
            let env = Environment.process()
            let sqs = SQSClient(aws: AWSClient(config: try AWSConfig.fromEnvironment(env)))
            let api = try LocalRuntimeAPI(functionARN: "arn:aws:lambda:us-east-1:123456789012:function:picture-processor",
                                          invocationTimeoutMs: 60_000)
            defer { api.stop() }
            var environment = env.values
            environment["AWS_LAMBDA_RUNTIME_API"] = api.endpoint
            environment["AWS_LAMBDA_LOG_FORMAT"] = environment["AWS_LAMBDA_LOG_FORMAT"] ?? "JSON"
            let child = try ChildProcess([function ?? siblingExecutable("picture-processor")], environment: environment)
            defer { child.terminate() }
            // Reassembly writes originals, whose notifications then wait in the resize queue.
            for (name, variable) in [("reassembly", "REASSEMBLY_QUEUE_URL"), ("resize", "RESIZE_QUEUE_URL")] {
                let mapping = EventSourceMapping(queueURL: try env.required(variable), sqs: sqs, api: api)
                for poll in try mapping.drain(rounds: rounds) {
                    say("\(name) queue: \(poll.received) message(s), \(poll.failed.count) returned to the queue")
                }
            }
        }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a picture: its stored pieces, its pictures-table item and the notifications so far.")

        @Option(help: "The device's id (the collection).") var machineId = "cam-1"
        @Option(help: "Wait up to this many seconds for the picture to be processed (ready or failed).") var wait = 0
        @Option(help: "Folder of `tessera local up`'s state files.") var state = ".local"
        @Argument(help: "The picture's label (its name); without one, the local stack's state.") var label: String?

        func run() throws {
            guard let label else { return try showStack() }
            let env = Environment.process()
            let aws = AWSClient(config: try AWSConfig.fromEnvironment(env))
            let db = DynamoDBClient(aws: aws)
            let table = env["PICTURES_TABLE"] ?? Names.picturesTable
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
                table: env["PIECES_TABLE"] ?? Names.piecesTable,
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
            guard let pid = readFile("\(state)/up.pid").flatMap({ pid_t(String(decoding: $0, as: UTF8.self).trimmingHTTPWhitespace()) }),
                  isAlive(pid) else {
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

import ArgumentParser
import TesseraAWS
import TesseraEvents
import TesseraImaging
import TesseraPictures
import TesseraSupport

/// `tessera local`: the local stack's resources in the AWS emulator (more to come).
struct Local: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Work with the local stack's resources in the AWS emulator.",
        subcommands: [Init.self, Status.self])

    /// Names the local stack gives its resources, as template.yaml does.
    static let piecesTable = "tessera-pieces"
    static let reassemblyQueue = "tessera-reassembly"

    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create the pieces table and the reassembly queue; print their environment variables.")

        func run() throws {
            let aws = AWSClient(config: try AWSConfig.fromEnvironment(.process()))
            let db = DynamoDBClient(aws: aws)
            do {
                try db.createTable(.init(name: Local.piecesTable, partitionKey: ("pictureId", "S"),
                                         sortKey: ("piece", "N")))
                try db.enableTimeToLive(table: Local.piecesTable, attribute: "expiresAt")
            } catch let error as AWSError where error.code == "ResourceInUseException" {
                // Already there from an earlier run.
            }
            let sqs = SQSClient(aws: aws)
            _ = try sqs.createQueue(name: Local.reassemblyQueue + "-dlq")
            let queue = try sqs.createQueue(name: Local.reassemblyQueue, attributes: [
                "VisibilityTimeout": "60",
                "RedrivePolicy": "{\"deadLetterTargetArn\":\"arn:aws:sqs:\(aws.config.region):123456789012:"
                    + "\(Local.reassemblyQueue)-dlq\",\"maxReceiveCount\":\"5\"}",
            ])
            print("export PIECES_TABLE=\(Local.piecesTable)")
            print("export REASSEMBLY_QUEUE_URL=\(queue)")
        }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a picture's stored pieces and the waiting reassembly requests.")

        @Option(help: "The device's id.") var machineId = "cam-1"
        @Argument(help: "The picture's label.") var label: String

        func run() throws {
            let config = try AWSConfig.fromEnvironment(.process())
            let env = Environment.process()
            let aws = AWSClient(config: config)
            let id = PieceStore.pictureId(machineId: machineId, label: label)
            let items = try DynamoDBClient(aws: aws).queryAll(
                table: env["PIECES_TABLE"] ?? Local.piecesTable,
                keyCondition: .init("#id = :id", names: ["#id": "pictureId"], values: [":id": .s(id)]),
                consistentRead: true)
            let pieces = items.compactMap { $0["piece"]?.int }.filter { $0 > 0 }
            let bytes = items.reduce(0) { $0 + ($1["data"]?.bytes?.count ?? 0) }
            let end = items.first { $0["piece"]?.int == 0 }
            print("\(id): \(pieces.count) pieces stored (\(bytes) bytes), END "
                + (end.map { "recorded: \($0["total"]?.int ?? 0) pieces, sha256 \($0["sha256"]?.string ?? "none")" }
                    ?? "not yet received"))
            if let queueURL = env["REASSEMBLY_QUEUE_URL"] {
                // A peek: visibility timeout 0 leaves the messages for the processor.
                let messages = try SQSClient(aws: aws).receiveMessages(queueURL: queueURL, max: 10, visibilityTimeout: 0)
                print("reassembly queue: \(messages.count) message(s)")
                for message in messages { print("  \(message.Body)") }
            }
        }
    }
}

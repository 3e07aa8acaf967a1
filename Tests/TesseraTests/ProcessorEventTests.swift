import Testing
@testable import TesseraEvents
import TesseraSupport

/// The events picture-processor takes, parsed strictly, with errors that name the path.
struct ProcessorEventTests {
    static func s3Record(key: String, sequencer: String? = "0055AED6DCD90281E5", time: String = "2026-11-21T12:00:00.250Z") -> String {
        """
        {"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"us-east-1","eventTime":"\(time)",\
        "eventName":"ObjectCreated:Put","s3":{"s3SchemaVersion":"1.0","configurationId":"c",\
        "bucket":{"name":"originals","arn":"arn:aws:s3:::originals"},"object":{"key":"\(key)","size":1024,\
        "eTag":"d41d8cd98f00b204e9800998ecf8427e"\(sequencer.map { ",\"sequencer\":\"\($0)\"" } ?? "")}}}
        """
    }

    static func sqs(_ bodies: [String], receiveCount: Int = 1) -> [UInt8] {
        let records = bodies.enumerated().map { index, body in
            """
            {"messageId":"m-\(index)","receiptHandle":"r","body":\(jsonQuoted(body)),\
            "attributes":{"ApproximateReceiveCount":"\(receiveCount)","SentTimestamp":"1"},"messageAttributes":{},\
            "eventSource":"aws:sqs","eventSourceARN":"arn:aws:sqs:us-east-1:123456789012:resize","awsRegion":"us-east-1"}
            """
        }
        return Array("{\"Records\":[\(records.joined(separator: ","))]}".utf8)
    }

    @Test func anS3NotificationStraightToLambda() throws {
        let event = try ProcessorEvent.parse(Array("{\"Records\":[\(Self.s3Record(key: "my+photos/caf%C3%A9+%2B1.jpg"))]}".utf8))
        guard case let .s3(.records(records)) = event, let record = records.first else {
            Issue.record("\(event)")
            return
        }
        #expect(record.key == "my photos/caf\u{E9} +1.jpg" && record.bucket == "originals" && record.isCreation)
        #expect(record.sequencer == "0055AED6DCD90281E5" && record.size == 1024)
        #expect(record.eventTimeMilliseconds == 1_795_262_400_250)
    }

    @Test func anSQSBatchOfEveryKindOfBody() throws {
        let s3 = "{\"Records\":[\(Self.s3Record(key: "cam-1/a.jpg", sequencer: nil))]}"
        let envelope = "{\"Type\":\"Notification\",\"MessageId\":\"n-1\",\"TopicArn\":\"arn:aws:sns:us-east-1:1:t\","
            + "\"Message\":\(jsonQuoted(s3)),\"Timestamp\":\"2026-11-21T12:00:00.000Z\"}"
        let test = #"{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2026-11-21T12:00:00.000Z","Bucket":"originals"}"#
        let reassembly = #"{"machine_id":"cam-1","label":"photo","pieces":12,"sha256":"\#(String(repeating: "ab", count: 32))"}"#
        guard case let .queue(batch) = try ProcessorEvent.parse(Self.sqs([s3, envelope, test, reassembly], receiveCount: 3)) else {
            Issue.record("not a queue event")
            return
        }
        #expect(batch.records.map(\.messageId) == ["m-0", "m-1", "m-2", "m-3"])
        #expect(batch.records.allSatisfy { $0.receiveCount == 3 && $0.sentTimestamp == 1 })
        let messages = try batch.records.map { try QueueMessage.parse(body: $0.body) }
        guard case let .s3(.records(direct)) = messages[0], case let .s3(.records(wrapped)) = messages[1] else {
            Issue.record("\(messages)")
            return
        }
        #expect(direct == wrapped && direct.first?.sequencer == nil)
        #expect(messages[2] == .s3(.testEvent(bucket: "originals")))
        #expect(messages[3] == .reassembly(ReassemblyRequest(machineId: "cam-1", label: "photo", pieces: 12,
                                                              sha256: String(repeating: "ab", count: 32))))
    }

    @Test(arguments: [
        (#"{"Records":[{"eventSource":"aws:kinesis"}]}"#, "Records[0].eventSource"),
        (#"{"Records":"x"}"#, "field `Records` must be an array, got string"),
        (#"{}"#, "field `Records` is missing"),
        (#"[1]"#, "event must be a JSON object, got array"),
        (#"{"Records":[{"eventSource":"aws:sqs","messageId":"m","body":"{}","attributes":{"SentTimestamp":"soon"}}]}"#,
         "field `Records[0].attributes.SentTimestamp` must be epoch milliseconds in a string, got \"soon\""),
        (#"{"Records":[{"eventSource":"aws:sqs","messageId":"m","body":"{}","attributes":{"SentTimestamp":"-5"}}]}"#,
         "must be epoch milliseconds"),
        (#"{"Records":[{"eventSource":"aws:sqs","messageId":"m","body":"{}","attributes":{"SentTimestamp":17}}]}"#,
         "Records[0].attributes.SentTimestamp` must be a string"),
    ])
    func malformedEventsNameThePath(_ json: String, _ expected: String) {
        do {
            _ = try ProcessorEvent.parse(Array(json.utf8))
            Issue.record("accepted \(json)")
        } catch {
            #expect("\(error)".contains(expected), "\(error)")
        }
    }

    @Test(arguments: [
        ("not json", "field `body` is not a JSON document"),
        (#"{"Records":[{"eventSource":"aws:s3","eventTime":"yesterday","eventName":"ObjectCreated:Put"}]}"#,
         "field `body.Records[0].eventTime` must be an ISO-8601 UTC time"),
        (#"{"Records":[]}"#, "field `body.Records` is empty"),
        ("{\"Records\":[\(ProcessorEventTests.s3Record(key: "100%.jpg"))]}", "field `body.Records[0].s3.object.key` is not a form-encoded S3 key"),
        ("{\"Records\":[\(ProcessorEventTests.s3Record(key: "%C3.jpg"))]}", "not UTF-8"),
        (#"{"Records":[{"eventSource":"aws:s3","eventTime":"2026-11-21T12:00:00Z","eventName":"x","s3":{"bucket":{"name":"b"},"object":{"key":7}}}]}"#,
         "field `body.Records[0].s3.object.key` must be a string, got integer"),
        (#"{"machine_id":"cam 1","label":"x","pieces":1}"#, "field `body.machine_id` must be 1 to 128 characters"),
        (#"{"machine_id":"cam","label":"x","pieces":0}"#, "field `body.pieces` must be between 1 and 100000, got 0"),
        (#"{"machine_id":"cam","label":"x","pieces":9223372036854775807}"#, "field `body.pieces` must be between 1 and 100000"),
        (#"{"machine_id":"cam","label":"x","pieces":100001}"#, "field `body.pieces` must be between 1 and 100000"),
        (#"{"machine_id":"cam","label":"x","pieces":2,"sha256":"XYZ"}"#, "field `body.sha256` must be 64"),
        (#"{"Type":"SubscriptionConfirmation","TopicArn":"t","MessageId":"m","Message":"{}"}"#, "field `body.Type` must be \"Notification\""),
        (#"{"Type":"Notification","TopicArn":"t","MessageId":"m","Message":"nope"}"#, "field `body.Message` is not a JSON document"),
    ])
    func malformedBodiesNameThePath(_ body: String, _ expected: String) {
        do {
            _ = try QueueMessage.parse(body: body)
            Issue.record("accepted \(body)")
        } catch {
            #expect("\(error)".contains(expected), "\(error)")
        }
    }

    @Test func timestamps() {
        #expect(ISO8601.milliseconds("2026-11-21T12:00:00Z") == 1_795_262_400_000)
        #expect(ISO8601.milliseconds("2026-11-21T12:00:00.5Z") == 1_795_262_400_500)
        #expect(ISO8601.milliseconds("2026-11-21T12:00:00.123456Z") == 1_795_262_400_123)
        #expect(ISO8601.milliseconds("2026-11-21T12:00:00.400147") == 1_795_262_400_400, "the emulator's form")
        for bad in ["2026-11-21 12:00:00Z", "2026-13-21T12:00:00Z", "2026-11-21T12:00", "2026-11-21T12:00:00.Z", "", "2026-11-21T12:00:00+01:00"] {
            #expect(ISO8601.milliseconds(bad) == nil, "\(bad)")
        }
    }
}

import Foundation
import Testing
@testable import TesseraAWS
import TesseraLocal
import TesseraSupport

/// The S3 and SNS clients against the emulator: signature checking on for plain keys; the second
/// emulator, without checking, for keys its checker re-encodes wrongly (DESIGN.md).
struct S3IntegrationTests {
    static let photo = Array("not really a JPEG, but bytes".utf8) + (0..<2_000).map { UInt8(truncatingIfNeeded: $0 * 7) }

    func roundTrip(_ s3: S3Client, bucket: String, key: String) throws {
        let etag = try s3.putObject(bucket: bucket, key: key, body: Self.photo, contentType: "image/jpeg",
                                    cacheControl: "max-age=60", metadata: ["source": "iot", "sha256": "abc"])
        #expect(!etag.isEmpty && !etag.contains("\""))
        let object = try s3.getObject(bucket: bucket, key: key, maxBytes: 1 << 20)
        #expect(object.bytes == Self.photo, "key \(key)")
        #expect(object.head.etag == etag)
        #expect(object.head.contentType == "image/jpeg")
        #expect(object.head.metadata == ["source": "iot", "sha256": "abc"])
        let head = try #require(try s3.headObject(bucket: bucket, key: key))
        #expect(head.size == Self.photo.count && head.etag == etag)
        try s3.deleteObject(bucket: bucket, key: key)
        #expect(try s3.headObject(bucket: bucket, key: key) == nil, "key \(key) still there after delete")
    }

    @Test func objectsRoundTripWithSignatureChecking() throws {
        let s3 = S3Client(aws: try Emulator.client())
        let bucket = Emulator.uniqueName("originals")
        try s3.createBucket(bucket)
        for key in ["cam-1/photo.jpg", "a/b/c/d.JPEG", "plain", "dots.and-dashes_under~tilde.jpg"] {
            try roundTrip(s3, bucket: bucket, key: key)
        }
    }

    @Test(arguments: ["my photos/summer 2026.jpg", "a+b=c&d.jpg", "100%.jpg", "caf\u{E9}/\u{5199}\u{771F}.jpeg",
                      "a//b.jpg", "(1)!*',;:@$.jpg", "trailing/", "~user/x.jpg", "x/./dot.jpg", "x/..",
                      "../../escape.jpg", "a/../b.jpg"])
    func oddKeysRoundTrip(_ key: String) throws {
        let s3 = S3Client(aws: try Emulator.openClient())
        let bucket = Emulator.uniqueName("odd")
        try s3.createBucket(bucket)
        try roundTrip(s3, bucket: bucket, key: key)
    }

    @Test func dotSegmentsNameTheirOwnObjectNotAnother() throws {
        let s3 = S3Client(aws: try Emulator.openClient())
        let bucket = Emulator.uniqueName("dots")
        try s3.createBucket(bucket)
        try s3.putObject(bucket: bucket, key: "b.jpg", body: [1, 2, 3], contentType: "image/jpeg")
        try s3.putObject(bucket: bucket, key: "a/../b.jpg", body: [9], contentType: "image/jpeg")
        #expect(try s3.getObject(bucket: bucket, key: "b.jpg", maxBytes: 10).bytes == [1, 2, 3])
        #expect(try s3.getObject(bucket: bucket, key: "a/../b.jpg", maxBytes: 10).bytes == [9])
    }

    @Test func aDownloadStopsAtItsCap() throws {
        let s3 = S3Client(aws: try Emulator.client())
        let bucket = Emulator.uniqueName("cap")
        try s3.createBucket(bucket)
        try s3.putObject(bucket: bucket, key: "big.jpg", body: Self.photo, contentType: "image/jpeg")
        #expect(throws: AWSError.responseTooLarge(service: .s3, operation: "GetObject", limit: 100)) {
            try s3.getObject(bucket: bucket, key: "big.jpg", maxBytes: 100)
        }
        #expect(try s3.getObject(bucket: bucket, key: "big.jpg", maxBytes: Self.photo.count).bytes == Self.photo)
    }

    @Test func aMissingObjectIsNoSuchKey() throws {
        let s3 = S3Client(aws: try Emulator.client())
        let bucket = Emulator.uniqueName("missing")
        try s3.createBucket(bucket)
        do {
            _ = try s3.getObject(bucket: bucket, key: "nothing.jpg", maxBytes: 10)
            Issue.record("expected NoSuchKey")
        } catch let error as AWSError {
            #expect(error.code == "NoSuchKey" && error.errorType == "AWS.NoSuchKey", "\(error)")
        }
    }

    /// The client refuses before sending: the bucket exists, so a request sent anyway would succeed (or, if
    /// the emulator refused the header, fail with a service error), never throw `invalidRequest`.
    @Test(arguments: [("name", "caf\u{E9}"), ("note", "line\nbreak"), ("caf\u{E9}", "x"), ("", "empty name")])
    func metadataS3CannotCarryIsRefusedBeforeSending(_ name: String, _ value: String) throws {
        let s3 = S3Client(aws: try Emulator.client())
        let bucket = Emulator.uniqueName("meta")
        try s3.createBucket(bucket)
        #expect(throws: AWSError.invalidRequest(service: .s3, operation: "PutObject", reason:
            "metadata \(name)=\(value) is not printable ASCII, which S3 headers require")) {
            try s3.putObject(bucket: bucket, key: "k.jpg", body: [1], contentType: "image/jpeg", metadata: ["source": "iot", name: value])
        }
        #expect(try s3.headObject(bucket: bucket, key: "k.jpg") == nil, "the object was written: the request went out")
    }

    @Test func pathStyleWhenOverriddenVirtualHostedOtherwise() throws {
        let config = AWSConfig(region: "eu-west-1", credentials: Credentials(accessKeyId: "a", secretAccessKey: "b"))
        let remote = S3Client(aws: AWSClient(config: config)).request("GetObject", "GET", "photos", "a b/c+d.jpg")
        #expect(remote.hostPrefix == "photos." && remote.path == "/a%20b/c%2Bd.jpg")
        let dotted = S3Client(aws: AWSClient(config: config)).request("GetObject", "GET", "my.photos", "x.jpg")
        #expect(dotted.hostPrefix == "" && dotted.path == "/my.photos/x.jpg")
        let local = S3Client(aws: try Emulator.client()).request("PutObject", "PUT", "photos", "\u{5199}.jpg")
        #expect(local.hostPrefix == "" && local.path == "/photos/%E5%86%99.jpg")
    }
}

struct SNSIntegrationTests {
    @Test func publishReachesASubscribedQueueWithItsAttribute() throws {
        let aws = try Emulator.client()
        let sns = SNSClient(aws: aws), sqs = SQSClient(aws: aws)
        let topic = try sns.createTopic(name: Emulator.uniqueName("notify"))
        let queue = try sqs.createQueue(name: Emulator.uniqueName("watch"))
        try sns.subscribeQueue(topicARN: topic, queueARN: try sqs.queueARN(queueURL: queue))
        let message = #"{"collection":"cam 1","name":"a+b & c","note":"100% caf\#u{E9} ~*'"}"#
        let id = try sns.publish(topicARN: topic, message: message, attributes: ["event": "picture.ready"])
        #expect(!id.isEmpty)
        let received = try sqs.receiveMessages(queueURL: queue, max: 10, waitSeconds: 2)
        #expect(received.count == 1)
        let envelope = try JSONSerialization.jsonObject(with: Data(try #require(received.first).Body.utf8)) as! [String: Any]
        #expect(envelope["Message"] as? String == message)
        #expect(envelope["MessageId"] as? String == id)
        let attributes = envelope["MessageAttributes"] as? [String: [String: String]]
        #expect(attributes?["event"]?["Value"] == "picture.ready")
        #expect(attributes?["event"]?["Type"] == "String")
    }
}

import Foundation
import Testing
import TesseraAWS
import TesseraLocal
import TesseraPictures
import TesseraSupport

/// What picture-processor does with objects whose writer may not make the picture, in a versioned
/// originals bucket as the template makes it: the real processor binary, the emulator's own S3
/// notifications (which carry no version id: the processor uses the version S3 answered with).
@Suite(.serialized)
final class UploadOwnershipTests {
    let h: PipelineHarness
    let table: PicturesTable
    static let photo = (try? Fixtures.bytes("photos/fresh-flower.jpg")) ?? []
    static let other = (try? Fixtures.bytes("photos/ladybird-420.jpg")) ?? []
    static var later: Int { UTCTime.nowMilliseconds() / 1000 + 600 }

    init() throws {
        h = try PipelineHarness()
        try h.s3.enableVersioning(bucket: h.originals)
        table = PicturesTable(table: h.picturesTable, db: h.db)
    }
    deinit { h.stop() }

    /// Writes an object as a presigned upload of `owner` with upload id `upload` writes it, then lets the
    /// processor take the bucket's notification.
    func upload(_ key: String, _ bytes: [UInt8], metadata: [String: String]) throws {
        try h.s3.putObject(bucket: h.originals, key: key, body: bytes, contentType: "image/jpeg", metadata: metadata)
        let polls = try h.drain(h.resizeQueue)
        #expect(polls.allSatisfy { $0.failed.isEmpty }, "\(h.logs)")
    }

    func current(_ key: String) throws -> [UInt8]? {
        try? h.s3.getObject(bucket: h.originals, key: key, maxBytes: 1 << 24).bytes
    }

    /// The first delivery records the upload (spending it) and dies before its notification (a rendition's
    /// put failing, a timeout): the queue's next delivery finishes the picture; it does not take the spent
    /// upload for a second one and delete the original.
    @Test func anUploadDeliveredAgainAfterItsRecordIsFinishedNotDeleted() throws {
        let picture = PictureKey(collection: "bar", name: "again")
        #expect(try table.claim(picture, owner: "user:ana", upload: "u9", until: Self.later))
        try h.s3.putObject(bucket: h.originals, key: "bar/again.jpg", body: Self.photo, contentType: "image/jpeg",
                           metadata: ["source": "upload", "owner": "user:ana", "upload": "u9"])
        var found: SQSClient.Message?
        for _ in 0..<5 where found == nil {
            found = try h.sqs.receiveMessages(queueURL: h.resizeQueue, max: 10, waitSeconds: 2).first { $0.Body.contains("again.jpg") }
        }
        let message = try #require(found, "the bucket's notification\n\(h.logs)")
        func deliver(receiveCount: Int) -> LocalRuntimeAPI.Outcome? {
            let record = "{\"messageId\":\"m-1\",\"receiptHandle\":\"r\",\"body\":\(jsonQuoted(message.Body)),"
                + "\"attributes\":{\"ApproximateReceiveCount\":\"\(receiveCount)\"},\"eventSource\":\"aws:sqs\"}"
            return h.processorAPI.invoke(Array("{\"Records\":[\(record)]}".utf8), timeout: 60)
        }
        #expect(deliver(receiveCount: 1) == .response(Array(#"{"batchItemFailures":[]}"#.utf8)), "\(h.logs)")
        // As if it had died after its write: recorded, not notified.
        try h.db.updateItem(table: h.picturesTable, key: ["collection": .s("bar"), "name": .s("again")],
                            update: .init("SET #n = :no", names: ["#n": "notified"], values: [":no": .bool(false)]))
        #expect(deliver(receiveCount: 2) == .response(Array(#"{"batchItemFailures":[]}"#.utf8)), "\(h.logs)")
        #expect(try current("bar/again.jpg") == Self.photo, "the picture's original is kept\n\(h.logs)")
        let made = try #require(try h.picture("bar", "again"))
        #expect(made["status"] == .s("ready") && made["notified"] == .bool(true), "\(made)")
        #expect(!h.logs.contains("this presigned upload was used already"), "\(h.logs)")
    }

    @Test func aPresignedUploadMakesOnePictureOnce() throws {
        let picture = PictureKey(collection: "bar", name: "one")
        #expect(try table.claim(picture, owner: "user:ana", upload: "u1", until: Self.later))
        try upload("bar/one.jpg", Self.photo, metadata: ["source": "upload", "owner": "user:ana", "upload": "u1"])
        let made = try #require(try h.picture("bar", "one"))
        #expect(made["status"] == .s("ready") && made["owner"] == .s("user:ana"), "\(made)")
        #expect(made["pendingUpload"] == nil, "the upload is spent")
        #expect(made["versionId"] != nil, "downloads name the version processed")
        #expect(events(try h.notifications(), "picture.ready").count == 1)
        // Upload-to-ready is measured from the S3 event's time; END-to-ready only for devices' pictures.
        let lines = ObservedLog.metrics(h.processor.log)
        #expect((ObservedLog.total(lines, "UploadToReadyMilliseconds") ?? -1) >= 0, "\(h.logs)")
        #expect(ObservedLog.total(lines, "EndToReadyMilliseconds") == nil, "\(h.logs)")

        // The same form again (its policy still valid): a new version, refused, deleted, never made the picture
        // (the conditional write that records a picture refuses it; docs/requests.md says why it is not read first).
        try upload("bar/one.jpg", Self.other, metadata: ["source": "upload", "owner": "user:ana", "upload": "u1"])
        #expect(try current("bar/one.jpg") == Self.photo, "the refused version is gone; the first is current again")
        #expect(try h.picture("bar", "one") == made)
        #expect(events(try h.notifications(), "picture.ready").isEmpty)
        #expect(h.logs.contains("this presigned upload was used already or replaced by a newer one"), "\(h.logs)")
        #expect(!h.logs.contains("ladybird"), "nothing of it was logged")

        // Another owner's object at the name (a form obtained before the claim, say): refused the same way.
        try upload("bar/one.jpg", Self.other, metadata: ["source": "upload", "owner": "user:ben", "upload": "u1"])
        #expect(try current("bar/one.jpg") == Self.photo)
        #expect(try h.picture("bar", "one") == made)
    }

    /// One form used twice before either is processed: one picture, and it is the object S3 serves.
    @Test func aFormUsedTwiceAtOnceMakesOnePictureS3Serves() throws {
        #expect(try table.claim(PictureKey(collection: "bar", name: "twice"), owner: "user:ana", upload: "u1", until: Self.later))
        let metadata = ["source": "upload", "owner": "user:ana", "upload": "u1"]
        try h.s3.putObject(bucket: h.originals, key: "bar/twice.jpg", body: Self.other, contentType: "image/jpeg", metadata: metadata)
        try h.s3.putObject(bucket: h.originals, key: "bar/twice.jpg", body: Self.photo, contentType: "image/jpeg", metadata: metadata)
        _ = try h.drain(h.resizeQueue)
        let item = try #require(try h.picture("bar", "twice"))
        let served = try h.s3.getObject(bucket: h.originals, key: "bar/twice.jpg", maxBytes: 1 << 24)
        #expect(item["status"] == .s("ready") && item["versionId"]?.string == served.head.versionId, "\(item)")
        #expect(item["bytes"] == .number(served.bytes.count))
        #expect(events(try h.notifications(), "picture.ready").count == 1)
    }

    @Test func aDevicesPictureNeverReplacesAUsersAndIsToldSo() throws {
        #expect(try table.claim(PictureKey(collection: "cam-1", name: "snap"), owner: "user:ana", upload: "u1", until: Self.later))
        try upload("cam-1/snap.jpg", Self.photo, metadata: ["source": "upload", "owner": "user:ana", "upload": "u1"])
        _ = try h.notifications()
        try upload("cam-1/snap.jpg", Self.other, metadata: ["source": "iot", "owner": "device:cam-1", "sha256": "x"])
        #expect(try current("cam-1/snap.jpg") == Self.photo)
        #expect(try h.picture("cam-1", "snap")?["owner"] == .s("user:ana"))
        let failed = events(try h.notifications(), "picture.failed")
        #expect(failed.count == 1 && (failed.first?["error"] as? [String: String])?["type"] == "Tessera.NotOwner", "\(failed)")
        // And a user's upload never replaces a device's picture.
        try upload("cam-2/snap.jpg", Self.photo, metadata: ["source": "iot", "owner": "device:cam-2", "sha256": "x"])
        #expect(try h.picture("cam-2", "snap")?["owner"] == .s("device:cam-2"))
        #expect(try !table.claim(PictureKey(collection: "cam-2", name: "snap"), owner: "user:ana", upload: "u2", until: Self.later))
        try upload("cam-2/snap.jpg", Self.other, metadata: ["source": "upload", "owner": "user:ana", "upload": "u2"])
        #expect(try current("cam-2/snap.jpg") == Self.photo)
    }

    /// A user's claim is no way to destroy what the account itself puts into the bucket: its object is
    /// kept (not made the picture while the claim holds), and the conflict notified.
    @Test func theAccountsOwnObjectsAreNeverDeletedForAClaim() throws {
        #expect(try table.claim(PictureKey(collection: "imports", name: "batch-1"), owner: "user:mallory", upload: "u3", until: Self.later))
        try upload("imports/batch-1.JPEG", Self.photo, metadata: [:])
        #expect(try current("imports/batch-1.JPEG") == Self.photo, "the account's object is kept")
        let failed = events(try h.notifications(), "picture.failed")
        #expect(failed.count == 1 && (failed.first?["error"] as? [String: String])?["type"] == "Tessera.NotOwner", "\(failed)")
        // A claim never uploaded lapses: then the account's next object is the picture.
        #expect(try table.claim(PictureKey(collection: "imports", name: "batch-2"), owner: "user:mallory", upload: "u4",
                                until: UTCTime.nowMilliseconds() / 1000 - 1))
        try upload("imports/batch-2.jpg", Self.photo, metadata: [:])
        #expect(try h.picture("imports", "batch-2")?["owner"] == .s("s3"))
        #expect(try h.picture("imports", "batch-2")?["status"] == .s("ready"))
    }

    @Test func aLapsedClaimIsAnyonesAgainButAHeldOneIsNot() throws {
        let name = PictureKey(collection: "bar", name: "squat")
        #expect(try table.claim(name, owner: "user:mallory", upload: "u5", until: UTCTime.nowMilliseconds() / 1000 - 1))
        #expect(try table.claim(name, owner: "user:ana", upload: "u6", until: Self.later))
        #expect(try !table.claim(name, owner: "user:mallory", upload: "u7", until: Self.later))
    }

    @Test func anUploadThatIsNotAJPEGIsRecordedThenDeleted() throws {
        #expect(try table.claim(PictureKey(collection: "bar", name: "page"), owner: "user:ana", upload: "u7", until: Self.later))
        try upload("bar/page.jpg", Array("<html><script>alert(1)</script></html>".utf8),
                   metadata: ["source": "upload", "owner": "user:ana", "upload": "u7"])
        let item = try #require(try h.picture("bar", "page"))
        #expect(item["status"] == .s("failed") && item["originalDeleted"] == .bool(true), "\(item)")
        #expect(try current("bar/page.jpg") == nil, "no longer served from the bucket")
        #expect(events(try h.notifications(), "picture.failed").count == 1)
        // Nor one that only starts like a JPEG: any upload that fails is deleted.
        #expect(try table.claim(PictureKey(collection: "bar", name: "fake"), owner: "user:ana", upload: "u8", until: Self.later))
        try upload("bar/fake.jpg", [0xFF, 0xD8, 0xFF, 0xE0] + Array(repeating: 0x41, count: 5000),
                   metadata: ["source": "upload", "owner": "user:ana", "upload": "u8"])
        #expect(try h.picture("bar", "fake")?["originalDeleted"] == .bool(true))
        #expect(try current("bar/fake.jpg") == nil)
    }

    func events(_ list: [(event: String, message: [String: Any])], _ kind: String) -> [[String: Any]] {
        list.filter { $0.event == kind }.map(\.message)
    }
}

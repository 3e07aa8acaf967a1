import Foundation
import Testing
import TesseraAWS
import TesseraEvents
import TesseraLocal
import TesseraSupport

/// The AWS requests each function makes per picture, counted from the requests the real binaries send
/// to the emulator (through a counting proxy). Lambda bills the time a function waits on each of them:
/// a request added to a path fails here. docs/requests.md says why each one is there.
@Suite(.serialized) struct RequestCountTests {
    static let photo = (try? Fixtures.bytes("photos/fresh-flower.jpg")) ?? []

    func note(_ path: String, _ counts: [String: Int]) {
        let total = counts.values.reduce(0, +)
        print("requests: \(path): \(total): " + counts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
    }

    /// Lets the processor take the resize queue's messages, and checks the picture became ready with a new
    /// original's requests: GetObject, the conditional PutItem, a PutObject per rendition, Publish, the mark.
    func expectResize(_ h: PipelineHarness, _ processor: CountingProxy, _ collection: String, _ name: String,
                      path: String) throws {
        let polls = try h.drain(h.resizeQueue)
        #expect(polls.allSatisfy { $0.failed.isEmpty }, "\(h.logs)")
        #expect(try h.picture(collection, name)?["status"] == .s("ready"), "\(h.logs)")
        let counts = processor.counts()
        note("picture-processor, \(path)", counts)
        #expect(counts == ["S3.GetObject": 1, "DynamoDB.PutItem": 1, "S3.PutObject": 2, "SNS.Publish": 1,
                           "DynamoDB.UpdateItem": 1], "\(h.logs)")
    }

    @Test func aDirectUpload() throws {
        let h = try PipelineHarness(proxied: true)
        defer { h.stop() }
        let processor = try #require(h.processorRequests)
        try h.s3.putObject(bucket: h.originals, key: "bar/drink.jpg", body: Self.photo, contentType: "image/jpeg")
        try expectResize(h, processor, "bar", "drink", path: "direct upload")

        // The same event again, as S3 may send it twice (a new message): the conditional write finds the
        // version recorded and notified; nothing written, nothing notified.
        let uploadedAt = try #require(try h.picture("bar", "drink"))["uploadedAt"]?.string ?? ""
        let event = "{\"Records\":[{\"eventVersion\":\"2.1\",\"eventSource\":\"aws:s3\",\"awsRegion\":\"us-east-1\","
            + "\"eventTime\":\"\(uploadedAt)\",\"eventName\":\"ObjectCreated:Put\",\"s3\":{\"bucket\":{\"name\":\"\(h.originals)\"},"
            + "\"object\":{\"key\":\"bar/drink.jpg\",\"size\":\(Self.photo.count)}}}]}"
        try h.sqs.sendMessage(queueURL: h.resizeQueue, body: event)
        _ = try h.drain(h.resizeQueue)
        let duplicate = processor.counts()
        note("picture-processor, the same S3 event twice (the second)", duplicate)
        #expect(duplicate == ["S3.GetObject": 1, "DynamoDB.PutItem": 1, "DynamoDB.GetItem": 1], "\(h.logs)")

        // A message the queue delivers again (received before, ApproximateReceiveCount 2): its picture's item
        // is read first, and a version done already costs nothing more.
        try h.sqs.sendMessage(queueURL: h.resizeQueue, body: event)
        _ = try h.sqs.receiveMessages(queueURL: h.resizeQueue, max: 1, waitSeconds: 2, visibilityTimeout: 0)
        _ = try h.drain(h.resizeQueue)
        let redelivered = processor.counts()
        note("picture-processor, a message delivered again", redelivered)
        #expect(redelivered == ["DynamoDB.GetItem": 1], "\(h.logs)")
        #expect(try h.notifications().filter { $0.event == "picture.ready" }.count == 1)
    }

    @Test func aDevicePicture() throws {
        let h = try PipelineHarness(proxied: true)
        defer { h.stop() }
        let storage = try #require(h.storageRequests), processor = try #require(h.processorRequests)
        var messages = IoTPieceMessage.split(Self.photo, machineId: "cam-7", label: "count", pieceBytes: 20_000).map(\.json)
        let end = messages.removeLast()
        for message in messages {
            guard case .response? = h.deliver(message) else { Issue.record("piece refused\n\(h.logs)"); return }
            let counts = storage.counts()
            #expect(counts == ["DynamoDB.GetItem": 1, "DynamoDB.PutItem": 1], "\(h.logs)")
        }
        note("piece-storage, a piece", ["DynamoDB.GetItem": 1, "DynamoDB.PutItem": 1])
        _ = h.deliver(end)
        let endCounts = storage.counts()
        note("piece-storage, END", endCounts)
        #expect(endCounts == ["DynamoDB.PutItem": 1, "SQS.SendMessage": 1, "DynamoDB.UpdateItem": 1], "\(h.logs)")

        _ = processor.take()
        let reassembly = try h.drain(h.reassemblyQueue)
        #expect(reassembly.map(\.failed) == [[]], "\(h.logs)")
        let joined = processor.counts()
        note("picture-processor, reassembly of \(messages.count) pieces", joined)
        #expect(joined == ["DynamoDB.Query": 1, "S3.PutObject": 1, "DynamoDB.UpdateItem": 1, "DynamoDB.BatchWriteItem": 1],
                "\(h.logs)")

        try expectResize(h, processor, "cam-7", "count", path: "resize of the reassembled original")
    }

    /// A request delivered again after its run wrote the original and died before the clean-up: the
    /// conditional write finds an object there, one look shows the same bytes, and nothing is written again.
    @Test func aReassemblyFindingItsOriginalDoesNotWriteItAgain() throws {
        let h = try PipelineHarness(proxied: true)
        defer { h.stop() }
        let processor = try #require(h.processorRequests)
        let messages = IoTPieceMessage.split(Self.photo, machineId: "cam-7", label: "again", pieceBytes: 20_000).map(\.json)
        for message in messages { _ = h.deliver(message) }
        try h.s3.putObject(bucket: h.originals, key: "cam-7/again.jpg", body: Self.photo, contentType: "image/jpeg",
                           metadata: ["sha256": hexString(SHA256.hash(Self.photo)), "source": "iot",
                                      "pieces": String(messages.count - 1), "owner": "device:cam-7"])
        _ = processor.take()
        #expect(try h.drain(h.reassemblyQueue).map(\.failed) == [[]], "\(h.logs)")
        let counts = processor.counts()
        note("picture-processor, reassembly finding its original there", counts)
        #expect(counts == ["DynamoDB.Query": 1, "S3.PutObject": 1, "S3.HeadObject": 1, "DynamoDB.UpdateItem": 1,
                           "DynamoDB.BatchWriteItem": 1], "\(h.logs)")
        #expect(h.processor.log.contains("alreadyThere: true"), "\(h.logs)")
        #expect(try h.pieceRows("cam-7/again").isEmpty)
    }

    @Test func pictureAPIPresignAndQueries() throws {
        let dynamo = try CountingProxy(upstream: try #require(Emulator.variables["AWS_ENDPOINT_URL"]))
        let s3 = try CountingProxy(upstream: try #require(Emulator.openVariables["AWS_ENDPOINT_URL"]))
        defer { dynamo.stop(); s3.stop() }
        let h = try PictureAPIHarness(extra: ["AWS_ENDPOINT_URL": dynamo.endpoint, "AWS_ENDPOINT_URL_S3": s3.endpoint])
        defer { h.stop() }
        let upload = try h.call("POST", "/uploads", body: #"{"collection":"bar","name":"new","contentType":"image/jpeg","bytes":1000}"#)
        #expect(upload.status == 201, "\(upload.text)")
        let presign = dynamo.counts().merging(s3.counts()) { $0 + $1 }
        note("picture-api, POST /uploads", presign)
        #expect(presign == ["DynamoDB.UpdateItem": 1])

        try h.putPicture(collection: "bar", name: "drink")
        _ = dynamo.take()
        let picture = try h.call("GET", "/pictures/bar/drink")
        #expect(picture.status == 200, "\(picture.text)")
        let one = dynamo.counts().merging(s3.counts()) { $0 + $1 }
        note("picture-api, GET /pictures/{collection}/{name}", one)
        #expect(one == ["DynamoDB.GetItem": 1])

        let listing = try h.call("GET", "/pictures?collection=bar")
        #expect(listing.status == 200, "\(listing.text)")
        let list = dynamo.counts().merging(s3.counts()) { $0 + $1 }
        note("picture-api, GET /pictures?collection=", list)
        #expect(list == ["DynamoDB.Query": 1])
    }
}

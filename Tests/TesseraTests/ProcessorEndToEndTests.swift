import Foundation
import Testing
import TesseraAWS
import TesseraEvents
import TesseraImaging
import TesseraLocal
import TesseraPictures
@testable import TesseraProcessor
import TesseraSupport

/// picture-processor and piece-storage as Lambda runs them, against the emulator with signature
/// checking on (the odd-key case uses the second emulator, without it).
@Suite(.serialized) struct ProcessorEndToEndTests {
    static let photo = (try? Fixtures.bytes("photos/fresh-flower.jpg")) ?? []

    func pieces(_ label: String, machine: String = "cam-7", bytes: [UInt8] = photo, size: Int = 20_000) -> [String] {
        IoTPieceMessage.split(bytes, machineId: machine, label: label, pieceBytes: size).map(\.json)
    }

    func events(_ list: [(event: String, message: [String: Any])], _ kind: String) -> [[String: Any]] {
        list.filter { $0.event == kind }.map(\.message)
    }

    @Test func aDevicePhotoComesOutAsOriginalRenditionsItemAndOneNotification() throws {
        let h = try PipelineHarness()
        defer { h.stop() }
        var messages = pieces("flower")
        let end = messages.removeLast()
        // Out of order, piece 2 twice, then END.
        for message in messages.reversed() + [messages[1], end] {
            guard case .response? = h.deliver(message) else { Issue.record("piece refused\n\(h.logs)"); return }
        }
        let reassembly = try h.drain(h.reassemblyQueue)
        #expect(reassembly.map(\.failed) == [[]], "\(reassembly.map(\.outcome))\n\(h.logs)")

        let original = try h.s3.getObject(bucket: h.originals, key: "cam-7/flower.jpg", maxBytes: 10 << 20)
        #expect(original.bytes == Self.photo)
        #expect(original.head.metadata["sha256"] == hexString(SHA256.hash(Self.photo)))
        #expect(try h.pieceRows("cam-7/flower").isEmpty, "pieces left behind")

        let resized = try h.drain(h.resizeQueue)
        #expect(resized.allSatisfy { $0.failed.isEmpty }, "\(h.logs)")
        let half = try h.s3.getObject(bucket: h.renditions, key: "half/cam-7/flower.jpg", maxBytes: 10 << 20)
        let thumb = try h.s3.getObject(bucket: h.renditions, key: "thumb/cam-7/flower.jpg", maxBytes: 10 << 20)
        let info = try JPEGInspector.inspect(Self.photo)
        let halfInfo = try JPEGInspector.inspect(half.bytes), thumbInfo = try JPEGInspector.inspect(thumb.bytes)
        #expect((halfInfo.width, halfInfo.height) == ((info.width + 1) / 2, (info.height + 1) / 2))
        #expect(max(thumbInfo.width, thumbInfo.height) == 256)

        let item = try #require(try h.picture("cam-7", "flower"), "no pictures item\n\(h.logs)")
        #expect(item["status"] == .s("ready") && item["source"] == .s("iot") && item["key"] == .s("cam-7/flower.jpg"))
        #expect(item["width"]?.int == info.width && item["bytes"]?.int == Self.photo.count)
        #expect(item["sha256"] == .s(hexString(SHA256.hash(Self.photo))))
        guard case let .m(renditions)? = item["renditions"], case let .m(thumbItem)? = renditions["thumb"] else {
            Issue.record("no renditions map: \(item)")
            return
        }
        #expect(thumbItem["key"] == .s("thumb/cam-7/flower.jpg") && thumbItem["bytes"]?.int == thumb.bytes.count)
        let notes = try h.notifications()
        #expect(notes.map(\.event) == ["picture.ready"], "\(notes)")
        // bucket and key name the original; the renditions' keys are in renditionsBucket (DESIGN.md).
        let ready = notes.first?.message ?? [:]
        #expect(ready["key"] as? String == "cam-7/flower.jpg" && ready["bucket"] as? String == h.originals, "\(ready)")
        #expect(ready["renditionsBucket"] as? String == h.renditions && ready["picture"] as? String == "cam-7/flower", "\(ready)")
        #expect(try h.s3.headObject(bucket: ready["bucket"] as? String ?? "", key: ready["key"] as? String ?? "") != nil)
    }

    @Test func endBeforeItsLastPieceStillCompletes() throws {
        let h = try PipelineHarness()
        defer { h.stop() }
        var messages = pieces("late")
        let end = messages.removeLast(), last = messages.removeLast()
        for message in messages + [end] { _ = h.deliver(message) }
        let first = try h.poll(h.reassemblyQueue)
        #expect(first.received == 1 && first.failed.count == 1, "incomplete must go back to the queue")
        _ = h.deliver(last)
        // Looked at again after the first delay, not the queue's 360 s (the visibility change works).
        sleep(UInt32(PictureProcessorHandler.lookAgainSeconds(afterAttempt: 1)))
        try h.drain(h.reassemblyQueue)
        #expect(try h.s3.headObject(bucket: h.originals, key: "cam-7/late.jpg")?.size == Self.photo.count, "\(h.logs)")
        #expect(try h.pieceRows("cam-7/late").isEmpty)
    }

    @Test func aPieceMissingForGoodIsReportedOnceAndGoesToTheDeadLetterQueue() throws {
        let h = try PipelineHarness(maxAttempts: 2)
        defer { h.stop() }
        var messages = pieces("gappy", size: 5_000)
        let end = messages.removeLast()
        messages.removeSubrange(2...4)  // pieces 3-5
        messages.remove(at: 5)          // piece 9
        for message in messages + [end] { _ = h.deliver(message) }
        for _ in 0..<4 {
            try h.poll(h.reassemblyQueue)
            sleep(1)
        }
        let dead = try h.sqs.receiveMessages(queueURL: h.reassemblyDLQ, max: 10, waitSeconds: 1)
        #expect(dead.count == 1, "the request must end in the dead-letter queue\n\(h.logs)")
        let incomplete = events(try h.notifications(), "picture.incomplete")
        #expect(incomplete.count == 1)
        #expect(incomplete.first?["missing"] as? [String] == ["3-5", "9"])
        #expect(incomplete.first?["pieces"] as? Int == messages.count + 4)
        #expect(try h.s3.headObject(bucket: h.originals, key: "cam-7/gappy.jpg") == nil)
        // Counted once, by the attempt that gives up (the earlier ones are retries); every attempt's lines name it.
        let lines = ObservedLog.metrics(h.processor.log)
        #expect(ObservedLog.total(lines, "ReassembliesIncomplete") == 1, "\(h.processor.log)")
        #expect(ObservedLog.total(lines, "ReassembliesComplete") == nil)
        #expect(ObservedLog.picturesLines(h.processor.log, "cam-7/gappy") >= 4, "\(h.processor.log)")
    }

    /// The attempt that gives up dies after marking the picture stalled and before notifying (a timeout,
    /// an instance killed): the queue's spare receive notifies, once, and a further copy does not.
    @Test func anIncompletePictureWhoseLastAttemptDiedIsNotifiedOnItsSpareReceive() throws {
        let h = try PipelineHarness(maxAttempts: 5)
        defer { h.stop() }
        var messages = pieces("orphan", size: 5_000)
        let end = messages.removeLast()
        messages.remove(at: 1)  // piece 2
        for message in messages + [end] { _ = h.deliver(message) }
        let pictureId = PieceStore.pictureId(machineId: "cam-7", label: "orphan")
        try h.db.updateItem(table: h.piecesTable, key: ["pictureId": .s(pictureId), "piece": .number(0)],
                            update: .init("SET #s = :yes", names: ["#s": "stalled"], values: [":yes": .bool(true)]))
        let sha = try #require((try JSONSerialization.jsonObject(with: Data(end.utf8)) as? [String: Any])?["sha256"] as? String)
        let request = "{\"machine_id\":\"cam-7\",\"label\":\"orphan\",\"pieces\":\(messages.count + 1),\"sha256\":\"\(sha)\"}"
        #expect(PictureProcessorHandler.lastAttempt(maxReceives: 5) == 4)
        for _ in 0..<2 {
            let outcome = h.processorAPI.invoke(sqsEvent([request], receiveCount: 5), timeout: 60)
            #expect(outcome == .response(Array(#"{"batchItemFailures":[{"itemIdentifier":"m-0"}]}"#.utf8)), "\(h.logs)")
        }
        let incomplete = events(try h.notifications(), "picture.incomplete")
        #expect(incomplete.count == 1, "\(h.logs)")
        #expect(incomplete.first?["missing"] as? [String] == ["2"])
    }

    /// Lambda retries an END whose invocation failed after sending its request, a minute later, when the
    /// picture is reassembled and cleaned up: the END stored afresh is of that very photo, so the picture
    /// is done, not incomplete, and the END does not hold the label for its TTL.
    @Test func anENDDeliveredAgainAfterTheCleanUpIsNotAnIncompletePicture() throws {
        let h = try PipelineHarness(maxAttempts: 2)
        defer { h.stop() }
        let messages = pieces("retold")
        for message in messages { _ = h.deliver(message) }
        #expect(try h.drain(h.reassemblyQueue).map(\.failed) == [[]], "\(h.logs)")
        #expect(try h.pieceRows("cam-7/retold").isEmpty)
        guard case .response? = h.deliver(messages.last!) else { Issue.record("END refused\n\(h.logs)"); return }
        for _ in 0..<3 { try h.poll(h.reassemblyQueue) }
        #expect(events(try h.notifications(), "picture.incomplete").isEmpty, "\(h.logs)")
        #expect(try h.pieceRows("cam-7/retold").isEmpty, "the END stored again is cleaned up\n\(h.logs)")
        #expect(try h.sqs.receiveMessages(queueURL: h.reassemblyDLQ, max: 10, waitSeconds: 1).isEmpty)
    }

    @Test func lookingAgainCoversLambdasRetriesOfAFailedPiece() {
        let looks = (1...3).map { PictureProcessorHandler.lookAgainSeconds(afterAttempt: $0) }
        #expect(looks.first == 2, "END overtaking its last piece is looked at again within seconds")
        #expect(looks.reduce(0, +) > 180, "the last look comes after Lambda's retries, 1 and 2 minutes apart")
        #expect(PictureProcessorHandler.lookAgainSeconds(afterAttempt: 9) < 360, "within the queue's visibility timeout")
        #expect(PictureProcessorHandler.lastAttempt(maxReceives: 1) == 1)
    }

    @Test func aLatePieceCompletesAPictureGivenUpOn() throws {
        let h = try PipelineHarness(maxAttempts: 2)
        defer { h.stop() }
        var messages = pieces("straggler")
        let end = messages.removeLast(), third = messages.remove(at: 2)
        for message in messages + [end] { _ = h.deliver(message) }
        for _ in 0..<3 {
            try h.poll(h.reassemblyQueue)
            sleep(1)
        }
        #expect(try h.sqs.receiveMessages(queueURL: h.reassemblyDLQ, max: 10, waitSeconds: 1).count == 1)
        #expect(events(try h.notifications(), "picture.incomplete").first?["missing"] as? [String] == ["3"])
        // The device's piece 3 arrives at last; nothing else is sent again.
        guard case let .response(body)? = h.deliver(third) else { Issue.record("\(h.logs)"); return }
        #expect(String(decoding: body, as: UTF8.self).contains("reassembly-requested"), "\(h.logs)")
        try h.drain(h.reassemblyQueue)
        let original = try h.s3.getObject(bucket: h.originals, key: "cam-7/straggler.jpg", maxBytes: 1 << 20)
        #expect(original.bytes == Self.photo, "\(h.logs)")
        #expect(try h.pieceRows("cam-7/straggler").isEmpty)
    }

    @Test func aReusedLabelNeverLosesTheNewUploadsPieces() throws {
        let h = try PipelineHarness()
        defer { h.stop() }
        // A device that always sends "latest", without checksums: photo A, then photo B.
        func unsummed(_ bytes: [UInt8]) -> [String] {
            let parts = IoTPieceMessage.split(bytes, machineId: "cam-7", label: "latest", pieceBytes: (bytes.count + 2) / 3)
            return parts.map { message in
                guard case let .end(machine, label, total, _, _) = message else { return message.json }
                return IoTPieceMessage.end(machineId: machine, label: label, total: total, sha256: nil, contentType: nil).json
            }
        }
        let a = unsummed(Self.photo)
        for message in a { _ = h.deliver(message) }
        try h.drain(h.reassemblyQueue)
        let other = try Fixtures.bytes("photos/ladybird-420.jpg")
        let b = unsummed(other)
        #expect(a.count == b.count, "both photos in the same number of pieces, so totals match")
        // B's pieces 2.. and END, then A's request delivered again (at least once), then B's own request.
        for message in b.dropFirst() { _ = h.deliver(message) }
        let aRequest = #"{"machine_id":"cam-7","label":"latest","pieces":\#(a.count - 1)}"#
        try h.sqs.sendMessage(queueURL: h.reassemblyQueue, body: aRequest)
        let lookAgain = UInt32(PictureProcessorHandler.lookAgainSeconds(afterAttempt: 1))
        for _ in 0..<2 { try h.poll(h.reassemblyQueue); sleep(lookAgain) }
        #expect(try h.pieceRows("cam-7/latest").count == b.count - 1, "B's pieces and END must all still be there")
        _ = h.deliver(b[0])
        sleep(lookAgain)
        try h.drain(h.reassemblyQueue)
        #expect(try h.s3.getObject(bucket: h.originals, key: "cam-7/latest.jpg", maxBytes: 1 << 20).bytes == other,
                "\(h.logs)")
        #expect(try h.pieceRows("cam-7/latest").isEmpty)
    }

    @Test func aStaleRequestDoesNotTouchANewerUpload() throws {
        let h = try PipelineHarness()
        defer { h.stop() }
        let a = pieces("reused")
        for message in a { _ = h.deliver(message) }
        try h.drain(h.reassemblyQueue)
        // B begins (pieces 1-2, no END yet) when A's request comes again.
        let other = try Fixtures.bytes("photos/ladybird-422.jpg")
        let b = pieces("reused", bytes: other, size: (other.count + 3) / 4)
        #expect(b.count == 5)
        for message in b.prefix(2) { _ = h.deliver(message) }
        let sha = hexString(SHA256.hash(Self.photo))
        try h.sqs.sendMessage(queueURL: h.reassemblyQueue,
                              body: #"{"machine_id":"cam-7","label":"reused","pieces":\#(a.count - 1),"sha256":"\#(sha)"}"#)
        let polls = try h.drain(h.reassemblyQueue)
        #expect(polls.map(\.failed) == [[]], "a stale request is done with, not retried")
        #expect(try h.pieceRows("cam-7/reused").count == 2, "B's pieces were deleted\n\(h.logs)")
    }

    @Test func aHugePieceCountFailsItsRecordAloneAndNothingCrashes() throws {
        let h = try PipelineHarness()
        defer { h.stop() }
        let good = s3Body(bucket: h.originals, encodedKey: "x/good.jpg", sequencer: "01", size: Self.photo.count)
        try h.s3.putObject(bucket: h.originals, key: "x/good.jpg", body: Self.photo, contentType: "image/jpeg")
        let huge = #"{"machine_id":"m","label":"huge","pieces":9223372036854775807}"#
        #expect(h.processorAPI.invoke(sqsEvent([huge, good]), timeout: 60)
            == .response(Array(#"{"batchItemFailures":[{"itemIdentifier":"m-0"}]}"#.utf8)), "\(h.logs)")
        #expect(h.processor.isRunning)
        #expect(try h.picture("x", "good")?["status"] == .s("ready"))
    }

    @Test func anOriginalWhoseRenditionKeysWouldBeTooLongFailsOnce() throws {
        let h = try PipelineHarness()
        defer { h.stop() }
        let key = "long/" + String(repeating: "k", count: 1_014) + ".jpg"  // 1023 bytes: "thumb/" makes 1029
        try h.s3.putObject(bucket: h.originals, key: key, body: Self.photo, contentType: "image/jpeg")
        let body = s3Body(bucket: h.originals, encodedKey: key, sequencer: "01", size: Self.photo.count)
        #expect(h.processorAPI.invoke(sqsEvent([body]), timeout: 60) == .response(Array(#"{"batchItemFailures":[]}"#.utf8)),
                "\(h.logs)")
        let failed = events(try h.notifications(), "picture.failed")
        #expect(failed.count == 1 && (failed.first?["error"] as? [String: String])?["type"] == "Tessera.KeyTooLong")
    }

    @Test func recordsAreNotStartedWithoutTimeForThem() throws {
        let h = try PipelineHarness(invocationTimeoutMs: 2_000)
        defer { h.stop() }
        let bodies = (0..<3).map { s3Body(bucket: h.originals, encodedKey: "x/\($0).jpg", sequencer: "0\($0)", size: 1) }
        let start = UTCTime.nowMilliseconds()
        let outcome = h.processorAPI.invoke(sqsEvent(bodies), timeout: 60)
        #expect(outcome == .response(Array(
            #"{"batchItemFailures":[{"itemIdentifier":"m-0"},{"itemIdentifier":"m-1"},{"itemIdentifier":"m-2"}]}"#.utf8)))
        #expect(UTCTime.nowMilliseconds() - start < 1_000)
    }

    @Test func aChecksumMismatchIsReportedOnceAndNotRetried() throws {
        let h = try PipelineHarness()
        defer { h.stop() }
        var messages = pieces("tampered")
        messages.removeLast()
        let wrong = String(repeating: "0", count: 64)
        let end = "{\"machine_id\":\"cam-7\",\"label\":\"tampered\",\"count\":\(messages.count),\"data\":\"END\",\"sha256\":\"\(wrong)\"}"
        for message in messages + [end] { _ = h.deliver(message) }
        let polls = try h.drain(h.reassemblyQueue)
        #expect(polls.map(\.failed) == [[]], "a mismatch is permanent: the message is done with")
        let incomplete = events(try h.notifications(), "picture.incomplete")
        #expect(incomplete.count == 1 && incomplete.first?["checksumMismatch"] as? Bool == true)
        #expect(try h.s3.headObject(bucket: h.originals, key: "cam-7/tampered.jpg") == nil)
    }

    /// An S3 notification for one object, as S3 sends it to SQS.
    func s3Body(bucket: String, encodedKey: String, sequencer: String?, size: Int) -> String {
        "{\"Records\":[{\"eventVersion\":\"2.1\",\"eventSource\":\"aws:s3\",\"awsRegion\":\"us-east-1\","
            + "\"eventTime\":\"2026-11-21T12:00:00.000Z\",\"eventName\":\"ObjectCreated:Put\",\"s3\":{\"bucket\":"
            + "{\"name\":\"\(bucket)\"},\"object\":{\"key\":\"\(encodedKey)\",\"size\":\(size)"
            + (sequencer.map { ",\"sequencer\":\"\($0)\"" } ?? "") + "}}}]}"
    }

    func sqsEvent(_ bodies: [String], receiveCount: Int = 1) -> [UInt8] {
        let records = bodies.enumerated().map { index, body in
            "{\"messageId\":\"m-\(index)\",\"receiptHandle\":\"r\",\"body\":\(jsonQuoted(body)),"
                + "\"attributes\":{\"ApproximateReceiveCount\":\"\(receiveCount)\"},\"eventSource\":\"aws:sqs\"}"
        }
        return Array("{\"Records\":[\(records.joined(separator: ","))]}".utf8)
    }

    @Test func theSameEventTwiceAndAnOlderOneAfterANewerOneNotifyOncePerVersion() throws {
        let h = try PipelineHarness()
        defer { h.stop() }
        try h.s3.putObject(bucket: h.originals, key: "bar/drink.jpg", body: Self.photo, contentType: "image/jpeg")
        // The emulator's own notifications carry no sequencer, and ordering by time cannot be compared
        // with S3's sequencers (AWS always sends one): this test speaks for S3 itself, so drop them.
        for message in try h.sqs.receiveMessages(queueURL: h.resizeQueue, max: 10, waitSeconds: 1) {
            try h.sqs.deleteMessage(queueURL: h.resizeQueue, receiptHandle: message.ReceiptHandle)
        }
        let older = s3Body(bucket: h.originals, encodedKey: "bar/drink.jpg", sequencer: "0055AED6DCD90281E5", size: Self.photo.count)
        let newer = s3Body(bucket: h.originals, encodedKey: "bar/drink.jpg", sequencer: "0055AED6DCD90281F0", size: Self.photo.count)
        for bodies in [[older, older], [newer], [older], [newer]] {
            #expect(h.processorAPI.invoke(sqsEvent(bodies), timeout: 60) == .response(Array("{\"batchItemFailures\":[]}".utf8)),
                    "\(h.logs)")
        }
        #expect(events(try h.notifications(), "picture.ready").count == 2, "one per version")
        #expect(try h.picture("bar", "drink")?["sequencer"] == .s("0055AED6DCD90281F0"))
    }

    @Test func aDirectUploadUnderAnOddKey() throws {
        // The emulator's checker rejects such keys wrongly (DESIGN.md): this runs on the one without it.
        let h = try PipelineHarness(variables: Emulator.openVariables)
        defer { h.stop() }
        let key = "my photos/summer 2026+final (1).JPEG"
        try h.s3.putObject(bucket: h.originals, key: key, body: Self.photo, contentType: "image/jpeg")
        let encoded = "my+photos/summer+2026%2Bfinal+%281%29.JPEG"
        let body = s3Body(bucket: h.originals, encodedKey: encoded, sequencer: "0A", size: Self.photo.count)
        #expect(h.processorAPI.invoke(sqsEvent([body]), timeout: 60) == .response(Array("{\"batchItemFailures\":[]}".utf8)),
                "\(h.logs)")
        #expect(try h.s3.headObject(bucket: h.renditions, key: "thumb/" + key) != nil)
        let item = try #require(try h.picture("my photos", "summer 2026+final (1)"))
        #expect(item["source"] == .s("s3") && item["status"] == .s("ready"))
    }

    @Test func aPNGATruncatedAndAHostileJPEGFailAloneInABatchWithAGoodOne() throws {
        let h = try PipelineHarness()
        defer { h.stop() }
        let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + [UInt8](repeating: 0, count: 64)
        let truncated = Array(Self.photo.prefix(Self.photo.count / 2))
        let hostile = JPEGSurgery.withSize(try Fixtures.bytes("photos/ladybird-420.jpg"), width: 65_535, height: 65_535)
        let files: [(String, [UInt8])] = [("x/a.png.jpg", png), ("x/b.jpg", truncated), ("x/c.jpg", hostile), ("x/good.jpg", Self.photo)]
        var bodies: [String] = []
        for (index, (key, bytes)) in files.enumerated() {
            try h.s3.putObject(bucket: h.originals, key: key, body: bytes, contentType: "image/jpeg")
            bodies.append(s3Body(bucket: h.originals, encodedKey: key, sequencer: "0\(index)", size: bytes.count))
        }
        #expect(h.processorAPI.invoke(sqsEvent(bodies), timeout: 60) == .response(Array("{\"batchItemFailures\":[]}".utf8)),
                "\(h.logs)")
        let notes = try h.notifications()
        let failures = events(notes, "picture.failed").compactMap { ($0["error"] as? [String: String])?["type"] }
        #expect(Set(failures) == ["Imaging.UnsupportedFormat", "Imaging.Truncated", "Imaging.TooManyPixels"], "\(notes)")
        #expect(events(notes, "picture.ready").map { $0["name"] as? String } == ["good"])
        #expect(try h.picture("x", "b")?["status"] == .s("failed"))
        #expect(h.processor.isRunning)
    }
}

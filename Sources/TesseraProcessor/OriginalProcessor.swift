import TesseraAWS
import TesseraEvents
import TesseraImaging
import TesseraPictures
import TesseraRuntime
import TesseraSupport

/// The resize step: a new original becomes its renditions, its pictures-table item and one
/// `picture.ready` (or, when the picture is refused, a `failed` item and one `picture.failed`).
///
/// Transient failures (AWS throttling, 5xx, timeouts) are thrown, so the event is delivered again;
/// a picture that can never be processed (not a JPEG, hostile, too large) is recorded and notified.
struct OriginalProcessor {
    /// What became of one object event.
    enum Outcome: Equatable {
        case ready(renditions: Int)
        case failed(errorType: String)
        /// Not this writer's to make: another owner's picture, or a presigned upload used twice. The version
        /// is deleted (the one before it is current again) and never made the picture: no item, no renditions.
        case refused(String)
        /// Nothing to do: not a creation, another bucket, a version already handled, or the object is gone.
        case skipped(String)
    }

    /// S3's longest key, in bytes.
    static let maxKeyBytes = 1_024

    let config: ProcessorConfig
    let s3: S3Client
    let pictures: PicturesTable
    let notifier: Notifier
    let renderer: RenditionRenderer
    let metrics: InvocationMetrics
    let log: (String) -> Void

    /// `redelivered`: the queue delivered this message before (its receive count is over 1).
    func process(_ event: S3ObjectEvent, redelivered: Bool = false) throws -> Outcome {
        guard event.isCreation else { return .skipped("\(event.eventName) is not a creation") }
        guard event.bucket == config.originalsBucket else {
            return .skipped("bucket \(event.bucket) is not ORIGINALS_BUCKET (\(config.originalsBucket))")
        }
        let picture = PictureKey(objectKey: event.key)
        let version = PictureVersion(sequencer: event.sequencer, eventTimeMilliseconds: event.eventTimeMilliseconds)
        // The conditional write that records the picture decides whether this version is newer and whether
        // its writer may make the picture: on a first delivery the item is not read before it (a request on
        // every picture, to save work only on a duplicate or a refusal). A message delivered again is likely
        // done already, or stopped part way: there one read tells, before the download and the decode.
        let stored = redelivered ? try pictures.item(picture) : nil
        if redelivered, PicturesTable.standing(of: version, given: stored) == .settled {
            return .skipped("this version of \(event.key) was handled already, or a newer one was")
        }
        let started = UTCTime.nowMilliseconds()
        let object: S3Client.Object
        // The event's version; where an event names none (the emulator's), the newest object only while it is
        // still the event's (its ETag): a newer one has an event of its own.
        let ifMatch = event.versionId == nil ? event.eTag : nil
        do {
            object = try s3.getObject(bucket: event.bucket, key: event.key, versionId: event.versionId, ifMatch: ifMatch,
                                      maxBytes: config.limits.maxInputBytes)
        } catch let error as AWSError where error.code == "NoSuchKey" || error.code == "NoSuchVersion" {
            return .skipped("\(event.key) is gone (deleted after the event)")
        } catch let AWSError.service(error) where error.code == "PreconditionFailed" || error.status == 412 {
            return .skipped("a newer object replaced \(event.key) before this event was handled; its own event handles it")
        } catch AWSError.responseTooLarge(_, _, let limit) {
            guard let head = try s3.headObject(bucket: event.bucket, key: event.key, versionId: event.versionId),
                  ifMatch == nil || head.etag == ifMatch else {
                return .skipped("\(event.key) is gone or replaced (after the event)")
            }
            let writer = Self.writer(head)
            if redelivered, let refusal = PicturesTable.refusal(of: writer, for: version, given: stored) {
                return try refuse(picture, event, version: event.versionId ?? head.versionId, writer, refusal)
            }
            let error = ImagingError.inputTooLarge(bytes: event.size ?? limit + 1, limit: limit)
            return try fail(picture, version, event, error, head: head, writer: writer)
        }
        // Whose it is: the metadata the presigned form pinned or the reassembler wrote. The write that records
        // the picture refuses it when that writer may not make the picture (a redelivery: the read did already).
        // The version fetched: the event's, or (where events carry none, as the emulator's) the one S3 answered with.
        let versionId = event.versionId ?? object.head.versionId
        let writer = Self.writer(object.head)
        if redelivered, let refusal = PicturesTable.refusal(of: writer, for: version, given: stored) {
            return try refuse(picture, event, version: versionId, writer, refusal)
        }
        // S3 keys stop at 1024 bytes: a rendition's key is its name, a slash and the original's key.
        if let longest = config.renditions.map(\.name).max(by: { $0.utf8.count < $1.utf8.count }),
           longest.utf8.count + 1 + event.key.utf8.count > Self.maxKeyBytes {
            return try fail(picture, version, event, ProcessorError.keyTooLong(
                key: event.key, renditionKeyBytes: longest.utf8.count + 1 + event.key.utf8.count), head: object.head, writer: writer)
        }

        var item = Self.describe(event, object.head)
        let made: [Rendition]
        let info: JPEGInfo
        let renderStarted = UTCTime.nowMilliseconds()
        do {
            info = try JPEGInspector.inspect(object.bytes, limits: config.limits)
            made = try renderer.render(object.bytes, specs: config.renditions.map(\.spec),
                                       options: RenderOptions(limits: config.limits))
        } catch let error as ImagingError {
            return try fail(picture, version, event, error, head: object.head, writer: writer)
        }
        let renderMilliseconds = UTCTime.nowMilliseconds() - renderStarted
        for note in info.notes { log("\(event.key): \(note)") }

        let summaries = zip(config.renditions, made).map { named, rendition in
            Notifier.RenditionSummary(name: named.name, key: "\(named.name)/\(event.key)", width: rendition.width,
                                      height: rendition.height, bytes: rendition.jpeg.count)
        }
        let shown = info.orientedSize
        item["status"] = .s("ready")
        item["width"] = .number(shown.width)
        item["height"] = .number(shown.height)
        item["format"] = .s("JPEG")
        item["colorSpace"] = .s(info.colorSpace.rawValue)
        item["subsampling"] = .s(info.subsampling)
        item["progressive"] = .bool(info.isProgressive)
        item["orientation"] = .number(info.orientation)
        item["renditions"] = .m(Dictionary(uniqueKeysWithValues: summaries.map {
            ($0.name, AttributeValue.m(["key": .s($0.key), "width": .number($0.width), "height": .number($0.height),
                                        "bytes": .number($0.bytes)]))
        }))
        if let largest = summaries.max(by: { $0.width * $0.height < $1.width * $1.height }), object.bytes.count > 0 {
            let saved = 100 * Double(object.bytes.count - largest.bytes) / Double(object.bytes.count)
            item["reductionPercent"] = .n(String((saved * 10).rounded() / 10))
        }
        item["processedAt"] = .s(UTCTime(epochMilliseconds: UTCTime.nowMilliseconds()).iso8601)
        item["processingMs"] = .number(UTCTime.nowMilliseconds() - started)
        switch try pictures.record(picture, version, item, writer: writer) {
        case .recorded: break
        case .superseded: return .skipped("a newer version of \(event.key) was recorded meanwhile")
        case let .refused(refusal): return try refuse(picture, event, version: versionId, writer, refusal)
        }
        // Written only once this version is the picture: a refused one never overwrites its renditions. A
        // failure here retries the event, which finds this version recorded but not notified and writes again.
        for (summary, rendition) in zip(summaries, made) {
            try s3.putObject(bucket: config.renditionsBucket, key: summary.key, body: rendition.jpeg, contentType: "image/jpeg",
                             cacheControl: "public, max-age=86400", metadata: ["original-etag": object.head.etag])
        }
        try notifier.ready(picture, originalsBucket: event.bucket, renditionsBucket: config.renditionsBucket, renditions: summaries)
        try pictures.markNotified(picture, version)
        metrics.add("PicturesReady", 1)
        metrics.add("RenderMilliseconds", renderMilliseconds, .milliseconds)
        // How long the picture took to become ready from where it entered: a device's END (queued with the
        // reassembly request, carried in the original's metadata) or a browser's upload (the S3 event's time).
        let now = UTCTime.nowMilliseconds()
        if object.head.metadata["source"] == "iot", let endAt = object.head.metadata["end-at"].flatMap({ Int($0) }), endAt <= now {
            metrics.add("EndToReadyMilliseconds", now - endAt, .milliseconds)
        } else if object.head.metadata["source"] == "upload", event.eventTimeMilliseconds <= now {
            metrics.add("UploadToReadyMilliseconds", now - event.eventTimeMilliseconds, .milliseconds)
        }
        metrics.add("BytesIn", object.bytes.count, .bytes)
        for summary in summaries {
            metrics.add("BytesOut", summary.bytes, .bytes, dimensions: [("rendition", summary.name)])
            if object.bytes.count > 0 {
                let saved = 100 * Double(object.bytes.count - summary.bytes) / Double(object.bytes.count)
                metrics.add("ReductionPercent", (saved * 10).rounded() / 10, .percent, dimensions: [("rendition", summary.name)])
            }
        }
        return .ready(renditions: summaries.count)
    }

    /// Records and notifies a picture that can never be processed. A browser upload that fails is
    /// deleted once recorded (its item says so): the bucket holds pictures, not whatever was sent.
    private func fail(_ picture: PictureKey, _ version: PictureVersion, _ event: S3ObjectEvent, _ error: any LambdaReportableError,
                      head: S3Client.ObjectHead?, writer: PicturesTable.Writer) throws -> Outcome {
        var item = Self.describe(event, head)
        item["status"] = .s("failed")
        item["error"] = .m(["type": .s(error.errorType), "message": .s(error.description)])
        item["processedAt"] = .s(UTCTime(epochMilliseconds: UTCTime.nowMilliseconds()).iso8601)
        // An upload that cannot be a picture is kept nowhere (nothing links to it, and it would store anything for free).
        let uploaded = head?.metadata["source"] == "upload"
        if uploaded { item["originalDeleted"] = .bool(true) }
        switch try pictures.record(picture, version, item, writer: writer) {
        case .recorded: break
        case .superseded: return .skipped("a newer version of \(event.key) was recorded meanwhile")
        case let .refused(refusal): return try refuse(picture, event, version: event.versionId ?? head?.versionId, writer, refusal)
        }
        if uploaded { try s3.deleteObject(bucket: event.bucket, key: event.key, versionId: event.versionId ?? head?.versionId) }
        try notifier.failed(picture, errorType: error.errorType, message: error.description)
        try pictures.markNotified(picture, version)
        metrics.add("PicturesFailed", 1, dimensions: [("errorType", error.errorType)])
        return .failed(errorType: error.errorType)
    }

    /// Deletes a version its writer could not make the picture; a device's picture refused for its owner
    /// is notified (the device cannot be told otherwise), a spent upload only logged. The account's own
    /// objects (dropped into the bucket, no owner) are never deleted: a user's claim must not be a way
    /// to destroy them; the conflict is notified for a person to settle.
    private func refuse(_ picture: PictureKey, _ event: S3ObjectEvent, version: String?, _ writer: PicturesTable.Writer,
                        _ refusal: PicturesTable.Refusal) throws -> Outcome {
        if writer.owner == Owner.bucket {
            log("\(event.key): not made the picture (\(refusal)); the account's object is kept")
        } else if let version {
            try s3.deleteObject(bucket: event.bucket, key: event.key, versionId: version)
        } else {
            log("\(event.key): refused, and left in place: the bucket is not versioned, so deleting it would delete the picture")
        }
        switch refusal {
        case let .notOwner(holder):
            if writer.owner.hasPrefix("device:") || writer.owner == Owner.bucket {
                try notifier.failed(picture, errorType: "Tessera.NotOwner", message:
                    "\(picture) belongs to another owner (\(holder.hasPrefix("device:") ? holder : "a user")); "
                    + "\(writer.owner)'s picture was not kept: send it under another label")
                metrics.add("PicturesFailed", 1, dimensions: [("errorType", "Tessera.NotOwner")])
            }
            return .refused("\(picture) belongs to \(holder), not \(writer.owner)")
        case .spentUpload:
            return .refused("\(picture): this presigned upload was used already or replaced by a newer one")
        }
    }

    /// Who wrote the object: the owner its metadata names (a presigned form pins it, the reassembler
    /// writes it), or the account itself for objects dropped straight into the bucket.
    static func writer(_ head: S3Client.ObjectHead) -> PicturesTable.Writer {
        let source = head.metadata["source"]
        return PicturesTable.Writer(owner: source == "upload" || source == "iot" ? head.metadata["owner"] ?? Owner.bucket : Owner.bucket,
                                    upload: source == "upload" ? head.metadata["upload"] ?? "" : nil)
    }

    /// What the event and S3 say of the original, whatever becomes of it.
    static func describe(_ event: S3ObjectEvent, _ head: S3Client.ObjectHead?) -> Item {
        var item: Item = ["bucket": .s(event.bucket),
                          "uploadedAt": .s(UTCTime(epochMilliseconds: event.eventTimeMilliseconds).iso8601)]
        let source = head?.metadata["source"]
        item["source"] = .s(source == "iot" || source == "upload" ? source! : "s3")
        if let size = head?.size ?? event.size { item["bytes"] = .number(size) }
        if let etag = head?.etag ?? event.eTag { item["etag"] = .s(etag) }
        if let sha = head?.metadata["sha256"] { item["sha256"] = .s(sha) }
        if let sequencer = event.sequencer { item["sequencer"] = .s(sequencer) }
        // Downloads name this version: a later object at the key, refused or not yet processed, is never served as it.
        if let version = event.versionId ?? head?.versionId { item["versionId"] = .s(version) }
        return item
    }
}

/// Why an original can never get its renditions, other than its pixels.
enum ProcessorError: LambdaReportableError, Equatable {
    case keyTooLong(key: String, renditionKeyBytes: Int)

    var errorType: String { "Tessera.KeyTooLong" }

    var description: String {
        switch self {
        case let .keyTooLong(key, bytes):
            "the renditions of \"\(key.prefix(60))...\" would need keys of \(bytes) bytes, over S3's 1024: shorten the original's key"
        }
    }
}

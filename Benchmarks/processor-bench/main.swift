import Glibc
import TesseraAWS
import TesseraEvents
import TesseraImaging
import TesseraLocal
import TesseraProcessor
import TesseraSupport

// processor-bench: what scripts/bench-processor measures of picture-processor.
//   processor-bench resize MEMORY_MB REPEATS OUT-DIR PHOTO...
//       the processor's default renditions (half=50%, thumb=fit:256x256) from one decode, in-process,
//       download excluded: "<photo> <best ms> <half WxH> <thumb WxH>" (or "<photo> refused <error>")
//   processor-bench reassembly PHOTO PIECE-BYTES PROCESSOR-BINARY EMULATOR-LOG
//       the photo's pieces written to a pieces table of the emulator (AWS_* variables), then one
//       reassembly request through the real picture-processor binary: time, requests, peak RSS

func fail(_ message: String) -> Never {
    printError(message)
    exit(1)
}

func resize(_ arguments: ArraySlice<String>) throws {
    guard arguments.count >= 4, let memory = Int(arguments[arguments.startIndex]),
          let repeats = Int(arguments[arguments.startIndex + 1]) else { fail("usage: resize MEMORY_MB REPEATS OUT-DIR PHOTO...") }
    let out = arguments[arguments.startIndex + 2]
    let specs = [try RenditionSpec("50%"), try RenditionSpec("fit:256x256")]
    let options = RenderOptions(limits: ImageLimits.forMemory(megabytes: memory))
    let renderer = try RenditionRenderer()
    for photo in arguments.dropFirst(3) {
        guard let bytes = readFile(photo) else { fail("cannot read \(photo)") }
        var best = Double.infinity
        var made: [Rendition] = []
        do {
            for _ in 0..<repeats {
                let start = monotonicNanoseconds()
                made = try renderer.render(bytes, specs: specs, options: options)
                best = min(best, Double(monotonicNanoseconds() - start) / 1e6)
            }
        } catch let error as ImagingError {
            print("\(photo) refused \(error.errorType)")
            continue
        }
        let name = String(photo.split(separator: "/").last!.dropLast(4))
        for (label, rendition) in zip(["half", "thumb"], made) {
            _ = writeFile("\(out)/\(name)-\(label).jpg", rendition.jpeg)
        }
        print("\(photo) \(String(format3(best))) \(made[0].width)x\(made[0].height) \(made[1].width)x\(made[1].height)")
    }
}

func format3(_ value: Double) -> String {
    let scaled = Int((value * 1000).rounded())
    return "\(scaled / 1000).\(pad(scaled % 1000, 3))"
}

func lineCount(_ path: String) -> Int {
    (readFile(path) ?? []).reduce(0) { $0 + ($1 == 10 ? 1 : 0) }
}

/// The child's own peak resident memory (VmHWM), in KiB.
func peakKiB(_ pid: pid_t) -> Int {
    let status = String(decoding: readFile("/proc/\(pid)/status") ?? [], as: UTF8.self)
    for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        return Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]) ?? 0
    }
    return 0
}

func reassembly(_ arguments: ArraySlice<String>) throws {
    let a = Array(arguments)
    guard a.count == 4, let pieceBytes = Int(a[1]), let photo = readFile(a[0]) else {
        fail("usage: reassembly PHOTO PIECE-BYTES PROCESSOR-BINARY EMULATOR-LOG")
    }
    let env = Environment.process()
    let aws = AWSClient(config: try AWSConfig.fromEnvironment(env))
    let db = DynamoDBClient(aws: aws), s3 = S3Client(aws: aws), sqs = SQSClient(aws: aws), sns = SNSClient(aws: aws)
    let suffix = String(UTCTime.nowMilliseconds())
    let table = "bench-pieces-\(suffix)", bucket = "bench-originals-\(suffix)"
    try db.createTable(.init(name: table, partitionKey: ("pictureId", "S"), sortKey: ("piece", "N")))
    try s3.createBucket(bucket)
    let topic = try sns.createTopic(name: "bench-\(suffix)")
    _ = try sqs.createQueue(name: "bench-\(suffix)")
    let pieces = stride(from: 0, to: photo.count, by: pieceBytes).map { Array(photo[$0..<min($0 + pieceBytes, photo.count)]) }
    let id = "cam-1/bench"
    var writes: [DynamoDBClient.WriteRequest] = pieces.enumerated().map { index, data in
        .put(["pictureId": .s(id), "piece": .number(index + 1), "data": .b(data), "expiresAt": .number(2_000_000_000)])
    }
    writes.append(.put(["pictureId": .s(id), "piece": .number(0), "total": .number(pieces.count), "requested": .bool(true)]))
    try db.batchWrite(table: table, requests: writes)

    let api = try LocalRuntimeAPI(invocationTimeoutMs: 120_000)
    var child = env.values
    child.merge(["AWS_LAMBDA_RUNTIME_API": api.endpoint, "PIECES_TABLE": table, "ORIGINALS_BUCKET": bucket,
                 "RENDITIONS_BUCKET": bucket + "-r", "PICTURES_TABLE": "unused", "NOTIFY_TOPIC_ARN": topic,
                 "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128", "AWS_LAMBDA_LOG_LEVEL": "WARN"]) { _, new in new }
    let processor = try ChildProcess([a[2]], environment: child)
    defer { processor.terminate() }
    let sha = hexString(SHA256.hash(photo))
    let body = "{\"machine_id\":\"cam-1\",\"label\":\"bench\",\"pieces\":\(pieces.count),\"sha256\":\"\(sha)\"}"
    let event = "{\"Records\":[{\"messageId\":\"m\",\"receiptHandle\":\"r\",\"body\":\(jsonQuoted(body)),"
        + "\"attributes\":{\"ApproximateReceiveCount\":\"1\"},\"eventSource\":\"aws:sqs\"}]}"
    // Let the process start before the clock does (its start-up is the runtime benchmark's business).
    usleep(200_000)
    let linesBefore = lineCount(a[3])
    let start = monotonicNanoseconds()
    let outcome = api.invoke(Array(event.utf8), timeout: 120)
    let elapsed = Double(monotonicNanoseconds() - start) / 1e6
    usleep(200_000)
    let requests = lineCount(a[3]) - linesBefore
    guard case let .response(answer)? = outcome, answer == Array("{\"batchItemFailures\":[]}".utf8) else {
        fail("reassembly failed: \(String(describing: outcome))")
    }
    let stored = try s3.getObject(bucket: bucket, key: "cam-1/bench.jpg", maxBytes: photo.count)
    guard stored.bytes == photo else { fail("the original in S3 differs from the photo") }
    print("\(photo.count) bytes in \(pieces.count) pieces of \(pieceBytes): \(format3(elapsed)) ms, "
        + "\(requests) requests, peak RSS \(peakKiB(processor.pid) / 1024) MiB")
}

let arguments = CommandLine.arguments.dropFirst()
do {
    switch arguments.first {
    case "resize": try resize(arguments.dropFirst())
    case "reassembly": try reassembly(arguments.dropFirst())
    default: fail("usage: processor-bench resize|reassembly ...")
    }
} catch {
    fail("processor-bench: \(error)")
}

import TesseraAWS
import TesseraImaging
import TesseraSupport

/// picture-processor's configuration, read once at start-up; the error names the variable at fault.
public struct ProcessorConfig: Sendable {
    public var piecesTable: String
    public var originalsBucket: String
    public var renditionsBucket: String
    public var picturesTable: String
    public var notifyTopicARN: String
    /// Name and spec of every rendition, in order.
    public var renditions: [(name: String, spec: RenditionSpec)]
    /// The reassembly queue's `maxReceiveCount`: on that receive a picture still missing pieces is
    /// reported incomplete and its message left to go to the dead-letter queue.
    public var reassemblyMaxAttempts: Int
    /// What one picture may cost, from the function's memory.
    public var limits: ImageLimits
    public var aws: AWSConfig

    public static let defaultRenditions = "half=50%,thumb=fit:256x256"

    /// Reads `PIECES_TABLE`, `ORIGINALS_BUCKET`, `RENDITIONS_BUCKET`, `PICTURES_TABLE`, `NOTIFY_TOPIC_ARN`,
    /// `RENDITIONS`, `REASSEMBLY_MAX_ATTEMPTS` (5), `AWS_LAMBDA_FUNCTION_MEMORY_SIZE` (128) and the AWS variables.
    public static func fromEnvironment(_ env: Environment) throws -> ProcessorConfig {
        let originals = try env.required("ORIGINALS_BUCKET"), renditions = try env.required("RENDITIONS_BUCKET")
        // Renditions in the originals bucket would trigger the resize again, forever.
        guard originals != renditions else {
            throw ConfigurationError(variable: "RENDITIONS_BUCKET",
                                     problem: "must differ from ORIGINALS_BUCKET (renditions there would be resized again, forever)")
        }
        let topic = try env.required("NOTIFY_TOPIC_ARN")
        guard topic.hasPrefix("arn:") else {
            throw ConfigurationError(variable: "NOTIFY_TOPIC_ARN", problem: "must be an SNS topic ARN, got \"\(topic)\"")
        }
        let memory = try env.integer("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", default: 128, range: 128...10_240)
        return ProcessorConfig(
            piecesTable: try env.required("PIECES_TABLE"), originalsBucket: originals, renditionsBucket: renditions,
            picturesTable: try env.required("PICTURES_TABLE"), notifyTopicARN: topic,
            renditions: try parseRenditions(env["RENDITIONS"] ?? defaultRenditions),
            reassemblyMaxAttempts: try env.integer("REASSEMBLY_MAX_ATTEMPTS", default: 5, range: 1...1_000),
            limits: ImageLimits.forMemory(megabytes: memory), aws: try AWSConfig.fromEnvironment(env))
    }

    /// `half=50%,thumb=fit:256x256`: names become S3 key prefixes, so they keep to `a-z 0-9 _ -`.
    static func parseRenditions(_ text: String) throws -> [(name: String, spec: RenditionSpec)] {
        func fail(_ problem: String) -> ConfigurationError { ConfigurationError(variable: "RENDITIONS", problem: problem) }
        var seen: Set<String> = []
        let list = try text.split(separator: ",").map { entry -> (name: String, spec: RenditionSpec) in
            let parts = entry.split(separator: "=", maxSplits: 1).map { String($0).trimmingHTTPWhitespace() }
            guard parts.count == 2, !parts[0].isEmpty, parts[0].utf8.count <= 32,
                  parts[0].utf8.allSatisfy({ (48...57).contains($0) || (97...122).contains($0) || $0 == 95 || $0 == 45 }) else {
                throw fail("entries are name=spec with names of a-z 0-9 _ - (up to 32), like \(defaultRenditions); got \"\(entry)\"")
            }
            guard seen.insert(parts[0]).inserted else { throw fail("names the rendition \"\(parts[0])\" twice") }
            do {
                return (parts[0], try RenditionSpec(parts[1]))
            } catch let error as ImagingError {
                throw fail("\(error)")
            }
        }
        guard !list.isEmpty else { throw fail("lists no rendition; the default is \(defaultRenditions)") }
        return list
    }
}

import Foundation
import Testing
import TesseraImaging
import TesseraLocal
import TesseraProcessor
import TesseraSupport

/// picture-processor's configuration: every missing or malformed variable is a ConfigurationError naming
/// it, and in the function an init error (`/runtime/init/error`) with that message, then exit 1.
struct ProcessorConfigTests {
    static let base = [
        "PIECES_TABLE": "pieces", "ORIGINALS_BUCKET": "originals", "RENDITIONS_BUCKET": "renditions",
        "PICTURES_TABLE": "pictures", "NOTIFY_TOPIC_ARN": "arn:aws:sns:eu-west-1:123456789012:pictures",
        "AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret",
    ]

    func config(_ changes: [String: String?]) throws -> ProcessorConfig {
        var values = Self.base
        for (name, value) in changes { values[name] = value }
        return try ProcessorConfig.fromEnvironment(Environment(values))
    }

    @Test func defaults() throws {
        let config = try config([:])
        #expect(config.piecesTable == "pieces" && config.originalsBucket == "originals"
            && config.renditionsBucket == "renditions" && config.picturesTable == "pictures")
        #expect(config.notifyTopicARN == "arn:aws:sns:eu-west-1:123456789012:pictures")
        #expect(config.renditions.map(\.name) == ["half", "thumb"])
        #expect(config.renditions.map(\.spec) == [try RenditionSpec("50%"), try RenditionSpec("fit:256x256")])
        #expect(config.reassemblyMaxAttempts == 5)
        #expect(config.limits == ImageLimits.forMemory(megabytes: 128))
        #expect(config.aws.region == "eu-west-1")
    }

    @Test func setValuesAreTaken() throws {
        let config = try config(["RENDITIONS": " small = fit:64x64 ,big=width:2048", "REASSEMBLY_MAX_ATTEMPTS": "3",
                                 "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024"])
        #expect(config.renditions.map(\.name) == ["small", "big"])
        #expect(config.renditions.map(\.spec) == [try RenditionSpec("fit:64x64"), try RenditionSpec("width:2048")])
        #expect(config.reassemblyMaxAttempts == 3)
        #expect(config.limits == ImageLimits.forMemory(megabytes: 1024))
    }

    static let errors: [(String, String?, String)] = [
        ("PIECES_TABLE", nil, "is not set"),
        ("ORIGINALS_BUCKET", nil, "is not set"),
        ("RENDITIONS_BUCKET", "", "is not set"),
        ("PICTURES_TABLE", nil, "is not set"),
        ("NOTIFY_TOPIC_ARN", nil, "is not set"),
        ("AWS_REGION", nil, "is not set"),
        ("RENDITIONS_BUCKET", "originals",
         "must differ from ORIGINALS_BUCKET (renditions there would be resized again, forever)"),
        ("NOTIFY_TOPIC_ARN", "pictures", "must be an SNS topic ARN, got \"pictures\""),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "lots", "must be a whole number, got \"lots\""),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "64", "must be between 128 and 10240, got 64"),
        ("REASSEMBLY_MAX_ATTEMPTS", "0", "must be between 1 and 1000, got 0"),
        ("REASSEMBLY_MAX_ATTEMPTS", "5x", "must be a whole number, got \"5x\""),
        ("RENDITIONS", "half", "entries are name=spec with names of a-z 0-9 _ - (up to 32), like "
            + "half=50%,thumb=fit:256x256; got \"half\""),
        ("RENDITIONS", "Half=50%", "entries are name=spec with names of a-z 0-9 _ - (up to 32), like "
            + "half=50%,thumb=fit:256x256; got \"Half=50%\""),
        ("RENDITIONS", "a=50%,a=fit:10x10", "names the rendition \"a\" twice"),
        ("RENDITIONS", "thumb=fit:0x10",
         "invalid rendition \"fit:0x10\": \"0\" is not a whole number of pixels from 1 to 65500"),
        ("RENDITIONS", ",", "lists no rendition; the default is half=50%,thumb=fit:256x256"),
    ]

    @Test(arguments: errors)
    func aMissingOrMalformedVariableIsNamed(_ variable: String, _ value: String?, _ problem: String) throws {
        #expect(throws: ConfigurationError(variable: variable, problem: problem)) { try config([variable: value]) }
    }

    /// The binary as Lambda runs it: the error goes to `/runtime/init/error`, named, and the process ends
    /// with status 1 before polling for an event.
    @Test(arguments: [errors[0], errors[6], errors[7], errors[9], errors[12], errors[15]])
    func aConfigurationErrorIsAnInitErrorNamingTheVariable(_ variable: String, _ value: String?, _ problem: String) throws {
        let api = try LocalRuntimeAPI()
        defer { api.stop() }
        var environment = Self.base
        environment.merge(["AWS_LAMBDA_RUNTIME_API": api.endpoint, "AWS_ENDPOINT_URL": "http://127.0.0.1:1"]) { _, new in new }
        environment[variable] = value
        let function = try FunctionProcess.start("picture-processor", environment: environment)
        defer { function.terminate() }
        let expected = "environment variable \(variable) \(problem)"
        #expect(api.waitForInitError(timeout: 20) == .error(type: "Runtime.ConfigurationError", message: expected,
                                                            headerType: "Runtime.ConfigurationError"),
                "\(function.log)")
        #expect(function.waitForExit(timeout: 20)?.status == 1, "\(function.log)")
        #expect(api.timeline.firstNext == nil, "it polled for an event after its init error")
    }

    /// The same variables, valid: no init error, and the function polls for its first event.
    @Test func aValidConfigurationStartsPolling() throws {
        let api = try LocalRuntimeAPI()
        defer { api.stop() }
        var environment = Self.base
        environment.merge(["AWS_LAMBDA_RUNTIME_API": api.endpoint, "AWS_ENDPOINT_URL": "http://127.0.0.1:1"]) { _, new in new }
        let function = try FunctionProcess.start("picture-processor", environment: environment)
        defer { function.terminate() }
        for _ in 0..<2_000 where api.timeline.firstNext == nil && function.isRunning { usleep(10_000) }
        #expect(api.timeline.firstNext != nil, "\(function.log)")
        #expect(api.waitForInitError(timeout: 0.5) == nil)
    }
}

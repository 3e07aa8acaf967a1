import TesseraHTTP
import TesseraSupport

extension AWSClient {
    /// Calls an operation of an AWS JSON service (1.0: DynamoDB, SQS; 1.1: Cognito): `X-Amz-Target` names it.
    package func callJSON<Output: Decodable>(_ service: AWSService, target: String, operation: String,
                                             input: some Encodable, as output: Output.Type,
                                             jsonVersion: String = "1.0") throws -> Output {
        let body: [UInt8]
        do {
            body = try JSONEncoding.encode(input)
        } catch {
            throw AWSError.invalidResponse(service: service, operation: operation, reason: "could not encode input: \(error)")
        }
        let response = try send(AWSRequest(
            service: service, operation: operation,
            headers: HTTPHeaders([("X-Amz-Target", "\(target).\(operation)"),
                                  ("Content-Type", "application/x-amz-json-" + jsonVersion)]),
            body: body))
        do {
            return try JSONDecoding.decode(Output.self, from: response.body.isEmpty ? Array("{}".utf8) : response.body,
                                           subject: "response")
        } catch {
            throw AWSError.invalidResponse(service: service, operation: operation, reason: "\(error)")
        }
    }
}

/// An operation output with nothing the caller needs.
package struct EmptyOutput: Decodable {}

import Foundation
import Testing
@testable import TesseraAWS
import TesseraSupport

/// Keys the emulator's checker cannot verify are checked against botocore's own S3 signer instead:
/// `scripts/s3_key_vectors.py` wrote its signatures to `Fixtures/s3-keys/vectors.json`.
struct S3KeySigningTests {
    struct Vector: Decodable { let key, method, path, body, authorization: String }

    static let vectors: [Vector] = (try? JSONDecoder().decode([Vector].self,
        from: Data(Fixtures.bytes("s3-keys/vectors.json")))) ?? []

    @Test func thereAreVectors() { #expect(Self.vectors.count == 20) }

    @Test(arguments: vectors.indices)
    func signsLikeBotocore(_ index: Int) throws {
        let vector = Self.vectors[index]
        let credentials = Credentials(accessKeyId: "AKIDEXAMPLE",
                                      secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                                      sessionToken: "session-token")
        let config = AWSConfig(region: "eu-west-1", credentials: credentials,
                               endpoints: [.s3: Endpoint("https://s3.eu-west-1.amazonaws.com", isOverride: true)!])
        // The path the client would send for this key.
        let request = S3Client(aws: AWSClient(config: config)).request("GetObject", vector.method,
                                                                      "tessera-originals", vector.key)
        #expect(request.path == vector.path, "key \(vector.key)")
        var signable = SignableRequest(method: vector.method, host: "s3.eu-west-1.amazonaws.com", path: request.path)
        let signer = SigV4Signer(credentials: credentials, region: "eu-west-1", service: "s3")
        signer.signHeaders(&signable, payload: .of(Array(vector.body.utf8)), date: AmzDate(epochSeconds: 1_795_262_400),
                           addContentSHA256Header: true)
        #expect(signable.headers["authorization"] == vector.authorization, "key \(vector.key) \(vector.method)")
    }
}

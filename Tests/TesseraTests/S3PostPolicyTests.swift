import Foundation
import Testing
@testable import TesseraAWS
import TesseraSupport

/// The browser POST policy against AWS's worked example ("Example: Browser-Based Upload using HTTP POST
/// (Using AWS Signature Version 4)"), and the forms picture-api hands out.
struct S3PostPolicyTests {
    struct Example: Decodable {
        let accessKeyId, secretAccessKey, region, timestamp, policyBase64, signature: String
    }

    let example = try! JSONDecoder().decode(Example.self, from: Data(Fixtures.bytes("s3-post/aws-example.json")))
    let dec29 = AmzDate(epochSeconds: 1_451_347_200)  // 20151229T000000Z

    var signer: SigV4Signer {
        SigV4Signer(credentials: Credentials(accessKeyId: example.accessKeyId, secretAccessKey: example.secretAccessKey),
                    region: example.region, service: "s3")
    }

    /// The example's policy document as the page prints it, with the CRLF line ends its base64 carries.
    static let exampleDocument = [
        #"{ "expiration": "2015-12-30T12:00:00.000Z","#,
        #"  "conditions": ["#,
        #"    {"bucket": "sigv4examplebucket"},"#,
        #"    ["starts-with", "$key", "user/user1/"],"#,
        #"    {"acl": "public-read"},"#,
        #"    {"success_action_redirect": "http://sigv4examplebucket.s3.amazonaws.com/successful_upload.html"},"#,
        #"    ["starts-with", "$Content-Type", "image/"],"#,
        #"    {"x-amz-meta-uuid": "14365123651274"},"#,
        #"    {"x-amz-server-side-encryption": "AES256"},"#,
        #"    ["starts-with", "$x-amz-meta-tag", ""],"#,
        "",
        #"    {"x-amz-credential": "AKIAIOSFODNN7EXAMPLE/20151229/us-east-1/s3/aws4_request"},"#,
        #"    {"x-amz-algorithm": "AWS4-HMAC-SHA256"},"#,
        #"    {"x-amz-date": "20151229T000000Z" }"#,
        "  ]",
        "}",
    ].joined(separator: "\r\n")

    @Test func theExamplePolicyIsEncodedAndSignedByteForByte() {
        #expect(dec29.timestamp == example.timestamp)
        let signed = S3PostPolicy.sign(document: Array(Self.exampleDocument.utf8), signer: signer, date: dec29)
        #expect(signed.policy == example.policyBase64)
        #expect(signed.signature == example.signature)
        #expect(signer.credentialScope(dec29) == "AKIAIOSFODNN7EXAMPLE/20151229/us-east-1/s3/aws4_request")
    }

    @Test func theBuilderWritesTheExamplesConditions() throws {
        let policy = S3PostPolicy(expiration: "2015-12-30T12:00:00.000Z", conditions: [
            .equals("bucket", "sigv4examplebucket"), .startsWith("key", "user/user1/"), .equals("acl", "public-read"),
            .equals("success_action_redirect", "http://sigv4examplebucket.s3.amazonaws.com/successful_upload.html"),
            .startsWith("Content-Type", "image/"), .equals("x-amz-meta-uuid", "14365123651274"),
            .equals("x-amz-server-side-encryption", "AES256"), .startsWith("x-amz-meta-tag", ""),
            .equals("x-amz-credential", "AKIAIOSFODNN7EXAMPLE/20151229/us-east-1/s3/aws4_request"),
            .equals("x-amz-algorithm", "AWS4-HMAC-SHA256"), .equals("x-amz-date", "20151229T000000Z"),
        ])
        // Same document for S3 (white space aside): the parsed JSON values are equal.
        let ours = try JSONSerialization.jsonObject(with: Data(policy.document.utf8)) as! NSDictionary
        let theirs = try JSONSerialization.jsonObject(with: Data(base64Encoded: example.policyBase64)!) as! NSDictionary
        #expect(ours == theirs)
    }

    @Test func conditionsAreEscapedJSON() {
        let policy = S3PostPolicy(expiration: "x", conditions: [.equals("key", "a\"b\\c\n"), .contentLengthRange(1, 20)])
        #expect(policy.document == #"{"expiration": "x", "conditions": [{"key": "a\"b\\c\n"}, ["content-length-range", 1, 20]]}"#)
    }

    @Test func aFormPinsBucketKeyTypeMetadataAndSize() throws {
        let config = AWSConfig(region: "eu-west-1", credentials: Credentials(
            accessKeyId: "AKID", secretAccessKey: "secret", sessionToken: "token/with+chars"))
        let form = try S3Presigner(config: config).postForm(
            bucket: "originals", key: "bar/drink.jpg", contentType: "image/jpeg", metadata: [("source", "upload")],
            bytes: 1...5000, expires: 300, date: dec29)
        #expect(form.url == "https://originals.s3.eu-west-1.amazonaws.com/")
        #expect(form.expiresAt == "2015-12-29T00:05:00.000Z")
        let fields = Dictionary(uniqueKeysWithValues: form.fields.map { ($0.name, $0.value) })
        #expect(form.fields.map(\.name) == ["key", "Content-Type", "x-amz-meta-source", "x-amz-algorithm",
                                            "x-amz-credential", "x-amz-date", "x-amz-security-token", "policy",
                                            "x-amz-signature"])
        #expect(fields["x-amz-credential"] == "AKID/20151229/eu-west-1/s3/aws4_request")
        let document = try JSONSerialization.jsonObject(with: Data(base64Encoded: fields["policy"]!)!) as! [String: Any]
        #expect(document["expiration"] as? String == "2015-12-29T00:05:00.000Z")
        let conditions = document["conditions"] as! [Any]
        let exact = conditions.compactMap { $0 as? [String: String] }.reduce(into: [String: String]()) { $0.merge($1) { a, _ in a } }
        #expect(exact == ["bucket": "originals", "key": "bar/drink.jpg", "Content-Type": "image/jpeg",
                          "x-amz-meta-source": "upload", "x-amz-algorithm": "AWS4-HMAC-SHA256",
                          "x-amz-credential": "AKID/20151229/eu-west-1/s3/aws4_request", "x-amz-date": "20151229T000000Z",
                          "x-amz-security-token": "token/with+chars"])
        let range = conditions.compactMap { $0 as? [Any] }.first { ($0.first as? String) == "content-length-range" }
        #expect(range?[1] as? Int == 1 && range?[2] as? Int == 5000)
        let signer = SigV4Signer(credentials: config.credentials, region: "eu-west-1", service: "s3")
        #expect(fields["x-amz-signature"] == signer.signature(of: fields["policy"]!, day: "20151229"))
    }

    @Test func overriddenEndpointsAndDottedBucketsArePathStyle() throws {
        let local = AWSConfig(region: "us-east-1", credentials: Credentials(accessKeyId: "a", secretAccessKey: "b"),
                              endpoints: [.s3: Endpoint("http://127.0.0.1:4566", isOverride: true)!])
        let form = try S3Presigner(config: local).postForm(bucket: "b", key: "k.jpg", contentType: "image/jpeg",
                                                           bytes: 1...1, expires: 60, date: dec29)
        #expect(form.url == "http://127.0.0.1:4566/b")
        let remote = AWSConfig(region: "us-east-1", credentials: Credentials(accessKeyId: "a", secretAccessKey: "b"))
        let dotted = try S3Presigner(config: remote).getURL(bucket: "my.bucket", key: "a b/c+d.jpg", expires: 60, date: dec29)
        #expect(dotted.hasPrefix("https://s3.us-east-1.amazonaws.com/my.bucket/a%20b/c%2Bd.jpg?X-Amz-Algorithm="))
    }

    @Test func expiriesOutsideSigV4sRangeAreRefused() {
        let config = AWSConfig(region: "us-east-1", credentials: Credentials(accessKeyId: "a", secretAccessKey: "b"))
        #expect(throws: SigV4Error.invalidExpiry(0)) {
            try S3Presigner(config: config).postForm(bucket: "b", key: "k", contentType: "image/jpeg", bytes: 1...1, expires: 0)
        }
        #expect(throws: SigV4Error.invalidExpiry(604_801)) {
            try S3Presigner(config: config).getURL(bucket: "b", key: "k", expires: 604_801)
        }
    }
}

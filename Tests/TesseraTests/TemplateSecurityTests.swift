import Foundation
import Testing
import TesseraLocal

/// What template.yaml's defaults open and bound, read from the file itself beside cfn-lint's checks:
/// the safe choice is the default, and opening anything is a parameter (docs/security.md).
struct TemplateSecurityTests {
    let template: LocalTemplate

    init() throws {
        template = try LocalTemplate.load(LocalTemplateTests.root.appendingPathComponent("template.yaml").path)
    }

    func properties(_ id: String) throws -> [String: TemplateValue] {
        try #require(template.resource(id), "template.yaml has no \(id)").properties
    }

    /// Whether a condition holds with every parameter at its default.
    func holds(_ condition: String) throws -> Bool {
        try template.string(.function("Fn::If", .list([.string(condition), .string("yes"), .string("no")]))) == "yes"
    }

    @Test func everyRouteButThePageNeedsATokenByDefault() throws {
        #expect(template.parameters["Gallery"] == "private")
        #expect(template.parameters["JwtIssuer"] == "")
        #expect(try holds("UseOwnUserPool") && holds("GuardReads") && holds("GuardUploads"))
        let body = try #require(try properties("PictureApi")["DefinitionBody"])
        let scheme = try #require(body["components"]?["securitySchemes"]?["JwtAuthorizer"]?["x-amazon-apigateway-authorizer"])
        #expect(scheme["type"]?.string == "jwt" && scheme["identitySource"]?.string == "$request.header.Authorization")
        let guarded = TemplateValue.list([.map(["JwtAuthorizer": .list([])])])
        #expect(body["paths"]?["/uploads"]?["post"]?["security"] == .function("Fn::If", .list([.string("GuardUploads"), guarded, .function("Ref", .string("AWS::NoValue"))])))
        for path in ["/pictures", "/pictures/{proxy+}", "/collections"] {
            #expect(body["paths"]?[path]?["get"]?["security"] == .function("Fn::If", .list([.string("GuardReads"), guarded, .function("Ref", .string("AWS::NoValue"))])), "\(path)")
        }
        #expect(body["paths"]?["/"] == nil, "GET / (the page) needs no token")
        // picture-api checks the same itself, from the same parameter.
        let environment = try #require(try properties("PictureApiFunction")["Environment"]?["Variables"])
        #expect(environment["GALLERY"] == .function("Ref", .string("Gallery")))
        // Users are made by an administrator; the page's client holds no secret.
        #expect(try properties("UserPool")["AdminCreateUserConfig"]?["AllowAdminCreateUserOnly"]?.string == "true")
        #expect(try properties("UserPoolClient")["GenerateSecret"]?.string == "false")
    }

    @Test func originalsAreVersionedAndBothBucketsClosedAndCleanedUp() throws {
        let originals = try properties("OriginalsBucket")
        #expect(originals["VersioningConfiguration"]?["Status"]?.string == "Enabled")
        let rules = originals["LifecycleConfiguration"]?["Rules"]?.list ?? []
        #expect(rules.contains { $0["NoncurrentVersionExpiration"]?["NoncurrentDays"] == .function("Ref", .string("NoncurrentVersionDays")) })
        #expect(Int(template.parameters["NoncurrentVersionDays"] ?? "") ?? 0 > 0)
        for bucket in ["OriginalsBucket", "RenditionsBucket"] {
            let block = try properties(bucket)["PublicAccessBlockConfiguration"]
            for setting in ["BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"] {
                #expect(block?[setting]?.string == "true", "\(bucket) \(setting)")
            }
            let lifecycle = try properties(bucket)["LifecycleConfiguration"]?["Rules"]?.list ?? []
            #expect(lifecycle.contains { $0["AbortIncompleteMultipartUpload"] != nil }, "\(bucket)")
        }
    }

    @Test func whatAStrangerCanCostIsBounded() throws {
        #expect(Int(template.parameters["ProcessorConcurrency"] ?? "") ?? 0 >= 2)
        #expect(Int(template.parameters["ApiConcurrency"] ?? "") ?? 0 >= 1)
        #expect(try holds("HasProcessorConcurrency") && holds("HasApiConcurrency"))
        let processor = try properties("PictureProcessorFunction")
        #expect(processor["ReservedConcurrentExecutions"] != nil)
        for (name, event) in processor["Events"]?.map ?? [:] {
            #expect(event["Properties"]?["ScalingConfig"] != nil, "the SQS mapping \(name) has no maximum concurrency")
        }
        #expect(try properties("PictureApiFunction")["ReservedConcurrentExecutions"] != nil)
        let upload = try properties("PictureApi")["RouteSettings"]?["POST /uploads"]
        #expect(upload?["ThrottlingRateLimit"] == .function("Ref", .string("UploadThrottlingRateLimit")))
        #expect(Int(template.parameters["UploadThrottlingRateLimit"] ?? "") ?? 99 < Int(template.parameters["ThrottlingRateLimit"] ?? "") ?? 0)
    }

    @Test func notificationsAreEncryptedWithAKeyAlarmsMayUse() throws {
        for topic in template.resources(ofType: "AWS::SNS::Topic") {
            #expect(topic.properties["KmsMasterKeyId"] == .function("Ref", .string("TopicKey")), "\(topic.logicalId)")
        }
        let key = try properties("TopicKey")
        #expect(key["EnableKeyRotation"]?.string == "true")
        let statements = key["KeyPolicy"]?["Statement"]?.list ?? []
        #expect(statements.contains { $0["Principal"]?["Service"]?.string == "cloudwatch.amazonaws.com" })
    }
}

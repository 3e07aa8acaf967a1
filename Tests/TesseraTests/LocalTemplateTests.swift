import Foundation
import Testing
import TesseraAWS
@testable import TesseraLocal

/// The local stack reads template.yaml itself: what it finds there, resolved for one machine.
struct LocalTemplateTests {
    static let root = Fixtures.directory.deletingLastPathComponent().deletingLastPathComponent()
    let template = try! LocalTemplate.load(root.appendingPathComponent("template.yaml").path)

    @Test func theTemplatesResourcesAreFound() throws {
        #expect(Set(template.resources(ofType: "AWS::DynamoDB::Table").map(\.logicalId)) == ["PiecesTable", "PicturesTable"])
        #expect(Set(template.resources(ofType: "AWS::S3::Bucket").map(\.logicalId)) == ["OriginalsBucket", "RenditionsBucket"])
        #expect(Set(template.resources(ofType: "AWS::Serverless::Function").map(\.logicalId))
                == ["PieceStorageFunction", "PictureProcessorFunction", "PictureApiFunction"])
        // Explicit names resolve as CloudFormation would (here from the local stack id); others get stack-LogicalId.
        #expect(try template.physicalName("OriginalsBucket") == "tessera-originals-local")
        #expect(try template.physicalName("RenditionsBucket") == "tessera-local-renditionsbucket")
        #expect(try template.physicalName("PiecesTable") == "tessera-local-PiecesTable")
    }

    /// Two stacks on one emulator never share the originals bucket (named after the stack's UUID): they
    /// would take each other's S3 notifications.
    @Test func otherStacksGetOriginalsBucketsOfTheirOwn() throws {
        let path = Self.root.appendingPathComponent("template.yaml").path
        let names = try ["a", "b", "tessera-local"].map { try LocalTemplate.load(path, stackName: $0).physicalName("OriginalsBucket") }
        #expect(Set(names).count == 3 && names[2] == "tessera-originals-local", "\(names)")
        #expect(names.allSatisfy { $0.count <= 63 && $0 == $0.lowercased() }, "valid bucket names: \(names)")
    }

    @Test func functionsGetTheirEnvironmentAndEventsFromTheTemplate() throws {
        let ids = ["ReassemblyQueue": "http://q/reassembly", "ResizeQueue": "http://q/resize", "NotifyTopic": "arn:topic",
                   "PiecesTable": "pieces", "PicturesTable": "pictures", "OriginalsBucket": "tessera-originals-local",
                   "RenditionsBucket": "renditions", "PieceFailuresQueue": "http://q/failures"]
        let functions = Dictionary(uniqueKeysWithValues: try LocalFunction.all(in: template, ids: ids).map { ($0.executable, $0) })
        #expect(Set(functions.keys) == ["piece-storage", "picture-processor", "picture-api"])
        let storage = functions["piece-storage"]!
        #expect(storage.environment["PIECES_TABLE"] == "pieces")
        #expect(storage.environment["REASSEMBLY_QUEUE_URL"] == "http://q/reassembly")
        #expect(storage.environment["MAX_PIECE_BYTES"] == "65536")
        #expect(storage.iotTopics == ["tessera/pieces/+"])
        #expect(storage.iotRules.map(\.sql)
                == ["SELECT topic(3) AS thing, machine_id, label, count, data, sha256, content_type FROM 'tessera/pieces/+'"])
        let processor = functions["picture-processor"]!
        #expect(Set(processor.queues.map(\.url)) == ["http://q/reassembly", "http://q/resize"])
        #expect(processor.environment["RENDITIONS"] == "half=50%,thumb=fit:256x256")
        #expect(processor.timeoutSeconds == 60)
        let api = functions["picture-api"]!
        #expect(api.servesHTTP)
        // The same bucket the resources got, through the template's !Sub of the stack id.
        #expect(api.environment["ORIGINALS_BUCKET"] == "tessera-originals-local")
        // The Secrets Manager reference has no local store: unset, so the function makes its own key.
        #expect(api.environment["CURSOR_SECRET"] == nil)
    }

    @Test func intrinsicFunctionsResolve() throws {
        let yaml = """
            Parameters:
              Name: { Type: String, Default: pics }
              Empty: { Type: String, Default: "" }
            Conditions:
              HasEmpty: !Not [!Equals [!Ref Empty, ""]]
            Resources:
              Q:
                Type: AWS::SQS::Queue
                Properties:
                  QueueName: !Join ["-", [!Ref Name, !Select [1, !Split [",", "a,b,c"]]]]
                  DelaySeconds: !If [HasEmpty, "5", "0"]
                  Tags: { "Fn::Sub": "${AWS::Region}/${Name}/${Q.Arn}" }
                  Literal: !Sub "topic/${Name}/${!iot:Connection.Thing.ThingName}"
            """
        let template = try LocalTemplate(yaml: yaml)
        #expect(try template.physicalName("Q") == "pics-b")
        let queue = template.resource("Q")!
        #expect(try template.string(queue.properties["DelaySeconds"]!) == "0")
        #expect(try template.string(queue.properties["Tags"]!) == "us-east-1/pics/arn:aws:sqs:us-east-1:123456789012:pics-b")
        // ${!Literal} is written as ${Literal}, unresolved (IoT policy variables).
        #expect(try template.string(queue.properties["Literal"]!) == "topic/pics/${iot:Connection.Thing.ThingName}")
        #expect(throws: TemplateError.unresolvable("Fn::FindInMap")) {
            try template.string(.function("Fn::FindInMap", .list([])))
        }
    }

    /// A rule the local stack cannot run stops `local up` naming the rule and the problem.
    @Test func aRuleTheLocalStackCannotRunIsRefused() throws {
        func yaml(_ sql: String, version: String = "2016-03-23") -> String {
            """
            Resources:
              StoreFunction:
                Type: AWS::Serverless::Function
                Properties: { MemorySize: 128 }
              Rule:
                Type: AWS::IoT::TopicRule
                Properties:
                  TopicRulePayload:
                    AwsIotSqlVersion: "\(version)"
                    Sql: "\(sql)"
                    Actions:
                      - Lambda: { FunctionArn: !GetAtt StoreFunction.Arn }
            """
        }
        let runs = try LocalFunction.all(in: LocalTemplate(yaml: yaml("SELECT topic(2) AS thing, a FROM 'p/+'")), ids: [:])
        #expect(runs.first?.iotRules.map(\.sql) == ["SELECT topic(2) AS thing, a FROM 'p/+'"])
        let star = #expect(throws: LocalUpError.self) {
            try LocalFunction.all(in: LocalTemplate(yaml: yaml("SELECT *, topic(3) AS thing FROM 'tessera/pieces/+'")), ids: [:])
        }
        #expect(star?.description == "Rule: the IoT rule `SELECT *, topic(3) AS thing FROM 'tessera/pieces/+'` cannot run "
            + "locally: '*' with other items: AWS does not document which value wins when the message itself has a key "
            + "of another item's name; select the message's fields by name instead")
        let beta = #expect(throws: LocalUpError.self) {
            try LocalFunction.all(in: LocalTemplate(yaml: yaml("SELECT * FROM 'p'", version: "beta")), ids: [:])
        }
        #expect(beta?.description == "Rule: AwsIotSqlVersion beta is not run locally (2016-03-23 or 2015-10-08)")
    }

    /// The devices' IoT policy as the local broker enforces it: each client publishes only to its own
    /// topic; what cannot be enforced exactly is refused, naming the policy.
    @Test func theDevicePolicyBecomesTheBrokersPublishPatterns() throws {
        #expect(try LocalDevicePolicy.publishPatterns(in: template, ids: [:]) == ["tessera/pieces/%c"])
        func policy(_ statements: String) -> String {
            """
            Parameters:
              Prefix: { Type: String, Default: fleet/pieces }
            Resources:
              Devices:
                Type: AWS::IoT::Policy
                Properties:
                  PolicyDocument:
                    Version: "2012-10-17"
                    Statement:
            \(statements)
            """
        }
        let allowed = try LocalTemplate(yaml: policy("""
                      - Effect: Allow
                        Action: iot:Connect
                        Resource: "*"
                      - Effect: Allow
                        Action: [iot:Publish]
                        Resource:
                          - !Sub "arn:${AWS::Partition}:iot:${AWS::Region}:${AWS::AccountId}:topic/${Prefix}/${!iot:ClientId}"
                          - !Sub "arn:${AWS::Partition}:iot:${AWS::Region}:${AWS::AccountId}:topic/status/${!iot:Connection.Thing.ThingName}/x"
            """))
        #expect(try LocalDevicePolicy.publishPatterns(in: allowed, ids: [:]) == ["fleet/pieces/%c", "status/%c/x"])
        let arn = "arn:aws:iot:us-east-1:123456789012:topic/"
        for (statement, problem) in [
            ("- { Effect: Deny, Action: iot:Publish, Resource: \"\(arn)x\" }", "only Allow statements are enforced locally"),
            ("- { Effect: Allow, Action: iot:Publish, Resource: \"\(arn)tessera/*\" }",
             "the topic tessera/* has the wildcard '*', which is not enforced locally"),
            ("- { Effect: Allow, Action: iot:Publish, Resource: \"\(arn)t/+\" }",
             "the topic t/+ has '+', which mosquitto would read as more than the policy says"),
            ("- { Effect: Allow, Action: iot:Publish, Resource: \"\(arn)t/${iot:Connection.Thing.Attributes[x]}\" }",
             "the topic t/${iot:Connection.Thing.Attributes[x]} has a policy variable other than the thing name or client id"),
            ("- { Effect: Allow, Action: iot:Publish, Resource: \"arn:aws:iot:eu-west-1:1:topic/x\" }",
             "iot:Publish on arn:aws:iot:eu-west-1:1:topic/x, which is not a topic of this account"),
            ("- { Effect: Allow, Action: iot:Subscribe, Resource: \"*\" }",
             "the action iot:Subscribe is not enforced locally (only iot:Connect and iot:Publish)"),
            ("- { Effect: Allow, Action: iot:Publish, Resource: \"\(arn)x\", Condition: { Bool: { a: b } } }",
             "statements with a Condition are not enforced locally"),
        ] {
            let template = try LocalTemplate(yaml: policy("              " + statement))
            let error = #expect(throws: LocalUpError.self, "\(statement)") {
                try LocalDevicePolicy.publishPatterns(in: template, ids: [:])
            }
            #expect(error?.description == "Devices: the local MQTT broker cannot enforce this IoT policy: \(problem)")
        }
    }

    @Test func mqttTopicFiltersMatchAsIoTRulesDo() {
        #expect(LocalStack.matches(filter: "tessera/pieces", topic: "tessera/pieces"))
        #expect(!LocalStack.matches(filter: "tessera/pieces", topic: "tessera/pieces/cam-1"))
        #expect(LocalStack.matches(filter: "tessera/pieces/#", topic: "tessera/pieces/cam-1/x"))
        #expect(LocalStack.matches(filter: "tessera/+/x", topic: "tessera/a/x"))
        #expect(!LocalStack.matches(filter: "tessera/+/x", topic: "tessera/a/b/x"))
    }

    @Test func provisioningCreatesWhatTheTemplateDeclares() throws {
        let stack = Emulator.uniqueName("stack")
        let template = try LocalTemplate.load(Self.root.appendingPathComponent("template.yaml").path, stackName: stack)
        let aws = try Emulator.client()
        let ids = try LocalResources.provision(template, aws: aws)
        let sqs = SQSClient(aws: aws), s3 = S3Client(aws: aws)
        // A second `up` finds everything there and changes nothing.
        #expect(try LocalResources.provision(template, aws: aws) == ids)
        #expect(ids["PiecesTable"] == "\(stack)-PiecesTable")
        // The redrive policy from the template: ReassemblyMaxAttempts' default, into its dead-letter queue.
        let attributes = try sqs.queueAttributes(queueURL: ids["ReassemblyQueue"]!)
        #expect(attributes["RedrivePolicy"]?.contains("\(stack)-ReassemblyDeadLetterQueue") == true)
        let redrive = (attributes["RedrivePolicy"] ?? "").filter { $0 != " " && $0 != "\"" }
        #expect(redrive.contains("maxReceiveCount:5"), "\(redrive)")
        #expect(attributes["VisibilityTimeout"] == "360")
        // The originals bucket notifies the resize queue.
        try s3.putObject(bucket: ids["OriginalsBucket"]!, key: "c/n.jpg", body: [0xFF, 0xD8], contentType: "image/jpeg")
        let bodies = try sqs.receiveMessages(queueURL: ids["ResizeQueue"]!, max: 10, waitSeconds: 2).map(\.Body)
        #expect(bodies.contains { $0.contains("c%2Fn.jpg") || $0.contains("c/n.jpg") }, "\(bodies)")
    }

    @Test func hostileTemplatesAreRefusedWithTheirProblem() throws {
        #expect(throws: TemplateError.malformed("line 2 has a YAML anchor or alias (& or *), which CloudFormation does not accept")) {
            try LocalTemplate(yaml: "a: &x [1, 2]\nb: [*x, *x]\n".replacingOccurrences(of: "a: &x [1, 2]\n", with: "a: 1\n") + "")
        }
        #expect(throws: TemplateError.malformed("line 1 has a YAML anchor or alias (& or *), which CloudFormation does not accept")) {
            try LocalTemplate(yaml: "a: &x [1, 2]\nb: 1\n")
        }
        // "*" inside values (IAM actions, S3 events) is not an alias.
        _ = try LocalTemplate(yaml: "Resources:\n  P:\n    Type: X\n    Properties: { Action: \"s3:*\", Event: s3:ObjectCreated:*, R: \"*\" }\n")
        let selfReference = try LocalTemplate(yaml: "Resources:\n  Q:\n    Type: AWS::SQS::Queue\n    Properties:\n      QueueName: !Ref Q\n")
        #expect(throws: TemplateError.unresolvable("a Ref, Sub or Condition that leads back to itself (64 levels deep)")) {
            try selfReference.physicalName("Q")
        }
        let loop = try LocalTemplate(yaml: "Conditions:\n  Loop: !Condition Loop\nResources:\n  Q:\n    Type: AWS::SQS::Queue\n    Properties:\n      DelaySeconds: !If [Loop, 1, 2]\n")
        #expect(throws: TemplateError.unresolvable("a Ref, Sub or Condition that leads back to itself (64 levels deep)")) {
            try loop.string(loop.resource("Q")!.properties["DelaySeconds"]!)
        }
        #expect(throws: TemplateError.unresolvable("Nothing: no parameter or resource has that name")) {
            try loop.string(.function("Ref", .string("Nothing")))
        }
    }
}

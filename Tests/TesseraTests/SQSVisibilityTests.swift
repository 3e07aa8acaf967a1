import Testing
import TesseraAWS
import TesseraLocal

/// What picture-processor uses to look for late pieces again within seconds.
struct SQSVisibilityTests {
    @Test func aQueueARNGivesItsURLAtTheClientsEndpoint() throws {
        let credentials = Credentials(accessKeyId: "a", secretAccessKey: "b")
        let aws = SQSClient(aws: AWSClient(config: AWSConfig(region: "eu-west-1", credentials: credentials)))
        #expect(aws.queueURL(arn: "arn:aws:sqs:eu-west-1:123456789012:tessera-reassembly")
                == "https://sqs.eu-west-1.amazonaws.com/123456789012/tessera-reassembly")
        let local = SQSClient(aws: AWSClient(config: AWSConfig(region: "us-east-1", credentials: credentials,
                                                               endpoints: [.sqs: Endpoint("http://127.0.0.1:5000/", isOverride: true)!])))
        #expect(local.queueURL(arn: "arn:aws:sqs:us-east-1:123456789012:q") == "http://127.0.0.1:5000/123456789012/q")
        for bad in ["", "arn:aws:sns:us-east-1:1:q", "arn:aws:sqs:us-east-1::q", "arn:aws:sqs:us-east-1:1:", "not an arn"] {
            #expect(local.queueURL(arn: bad) == nil, "\(bad)")
        }
    }

    @Test func aShortenedVisibilityBringsTheMessageBackSooner() throws {
        let sqs = SQSClient(aws: try Emulator.client())
        let queue = try sqs.createQueue(name: Emulator.uniqueName("visibility"), attributes: ["VisibilityTimeout": "300"])
        try sqs.sendMessage(queueURL: queue, body: "late pieces")
        let first = try #require(try sqs.receiveMessages(queueURL: queue, max: 1, waitSeconds: 1).first)
        #expect(try sqs.receiveMessages(queueURL: queue, max: 1).isEmpty)  // hidden for 300 s...
        try sqs.changeVisibility(queueURL: queue, receiptHandle: first.ReceiptHandle, seconds: 1)
        let again = try sqs.receiveMessages(queueURL: queue, max: 1, waitSeconds: 3)  // ...back after 1 s
        #expect(again.first?.Body == "late pieces")
    }
}

import TesseraAWS
import TesseraHTTP
import TesseraSupport

// Bucket administration: template.yaml creates buckets on AWS; only the local stack and tests need these.
extension S3Client {
    /// Creates the bucket; one that already exists (owned by us) is fine.
    public func createBucket(_ bucket: String) throws {
        do {
            _ = try aws.send(AWSRequest(service: .s3, operation: "CreateBucket", method: "PUT",
                                        path: "/\(PercentEncoding.encode(bucket))"))
        } catch let error as AWSError where error.code == "BucketAlreadyOwnedByYou" {
        }
    }

    /// Turns on versioning, as the template's `VersioningConfiguration: {Status: Enabled}` does.
    public func enableVersioning(bucket: String) throws {
        let body = #"<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>Enabled</Status></VersioningConfiguration>"#
        _ = try aws.send(AWSRequest(service: .s3, operation: "PutBucketVersioning", method: "PUT",
                                    path: "/\(PercentEncoding.encode(bucket))", query: [("versioning", "")],
                                    headers: HTTPHeaders([("Content-Type", "application/xml")]), body: Array(body.utf8)))
    }

    /// Points the bucket's object-created events at an SQS queue (the XML S3's API takes).
    public func notifyQueueOnCreate(bucket: String, queueARN: String, id: String = "originals-created") throws {
        let body = """
            <NotificationConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><QueueConfiguration>\
            <Id>\(id)</Id><Queue>\(queueARN)</Queue><Event>s3:ObjectCreated:*</Event></QueueConfiguration>\
            </NotificationConfiguration>
            """
        _ = try aws.send(AWSRequest(service: .s3, operation: "PutBucketNotificationConfiguration", method: "PUT",
                                    path: "/\(PercentEncoding.encode(bucket))", query: [("notification", "")],
                                    headers: HTTPHeaders([("Content-Type", "application/xml")]), body: Array(body.utf8)))
    }
}

extension SNSClient {
    /// Creates the topic (or finds the one of that name); returns its ARN.
    public func createTopic(name: String) throws -> String {
        let response = try call("CreateTopic", [("Action", "CreateTopic"), ("Version", "2010-03-31"), ("Name", name)])
        guard let arn = xmlText(response.text, "TopicArn") else {
            throw AWSError.invalidResponse(service: .sns, operation: "CreateTopic", reason: "no TopicArn")
        }
        return arn
    }

    /// Subscribes an SQS queue to the topic; SNS wraps each message in its JSON envelope.
    public func subscribeQueue(topicARN: String, queueARN: String) throws {
        _ = try call("Subscribe", [("Action", "Subscribe"), ("Version", "2010-03-31"), ("TopicArn", topicARN),
                                   ("Protocol", "sqs"), ("Endpoint", queueARN)])
    }
}

/// The text of the first `<name>` element (enough for the few fields administration reads).
func xmlText(_ xml: String, _ name: String) -> String? {
    guard let open = xml.firstRange(of: "<\(name)>"),
          let close = xml[open.upperBound...].firstRange(of: "</\(name)>") else { return nil }
    return String(xml[open.upperBound..<close.lowerBound])
}

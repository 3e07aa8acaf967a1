import TesseraAWS
import TesseraSupport

/// The pictures table (DESIGN.md "Pictures table"): one item a picture, keyed by collection and name.
///
/// Writes are ordered by `PictureVersion`: an item is written only over an older version, or over the
/// same version not yet notified (a redelivery after a crash between the write and the notification),
/// so a late or duplicated event never overwrites a newer picture and `picture.ready` goes out once.
public struct PicturesTable {
    public let table: String
    let db: DynamoDBClient

    public init(table: String, db: DynamoDBClient) {
        self.table = table
        self.db = db
    }

    /// Where this version stands against what the table holds.
    public enum Standing: Sendable, Equatable {
        /// Nothing newer is recorded: process it.
        case current
        /// This version was recorded and notified already, or a newer one was: nothing to do.
        case settled
    }

    public func standing(of picture: PictureKey, _ version: PictureVersion) throws -> Standing {
        guard let item = try db.getItem(table: table, key: key(picture), consistentRead: true),
              let stored = item["version"]?.string else { return .current }
        if stored > version.order { return .settled }
        if stored == version.order { return item["notified"]?.boolValue == true ? .settled : .current }
        return .current
    }

    /// Writes the item for this version; false when a newer (or the same, notified) version is there.
    public func record(_ picture: PictureKey, _ version: PictureVersion, _ attributes: Item) throws -> Bool {
        var item = attributes
        item["collection"] = .s(picture.collection)
        item["name"] = .s(picture.name)
        item["key"] = .s(picture.key)
        item["version"] = .s(version.order)
        item["notified"] = .bool(false)
        do {
            try db.putItem(table: table, item: item, condition: .init(
                "attribute_not_exists(#version) OR #version < :version OR (#version = :version AND #notified = :no)",
                names: ["#version": "version", "#notified": "notified"],
                values: [":version": .s(version.order), ":no": .bool(false)]))
            return true
        } catch let error as AWSError where error.code == "ConditionalCheckFailedException" {
            return false
        }
    }

    /// Notes that this version's notification went out.
    public func markNotified(_ picture: PictureKey, _ version: PictureVersion) throws {
        do {
            try db.updateItem(table: table, key: key(picture), update: .init(
                "SET #notified = :yes", names: ["#notified": "notified", "#version": "version"],
                values: [":yes": .bool(true), ":version": .s(version.order)]),
                condition: "#version = :version")
        } catch let error as AWSError where error.code == "ConditionalCheckFailedException" {
            // A newer version took the item meanwhile; its own notification is its business.
        }
    }

    func key(_ picture: PictureKey) -> Item {
        ["collection": .s(picture.collection), "name": .s(picture.name)]
    }
}

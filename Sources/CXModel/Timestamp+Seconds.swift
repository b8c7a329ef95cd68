import Foundation
import SwiftProtobuf

extension Google_Protobuf_Timestamp {
    /// The timestamp of a time kept as seconds since 1970 (the services'
    /// REAL columns).
    public static func at(_ seconds: Double) -> Google_Protobuf_Timestamp {
        Google_Protobuf_Timestamp(date: Date(timeIntervalSince1970: seconds))
    }
}

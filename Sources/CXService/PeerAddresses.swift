import ArgumentParser
import CXModel
import CXWire
import Foundation

/// The peers a service sends outbox events to, from its `--<peer>-addr`
/// flags: a flag's value, else `$CX_<PEER>_ADDR`, else the peer's default
/// address; "none" leaves that peer out (its events are never written).
public enum PeerAddresses {
    /// - Parameters:
    ///   - flags: each peer with the value of its flag (nil when not given).
    ///   - token: the bearer token every call to a peer carries (the service role's).
    /// - Throws: `ValidationError` naming the flag or variable whose value is not host:port.
    public static func clients(
        _ flags: [(CXServiceName, String?)], token: String? = nil,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> [CXServiceName: RPCClient] {
        var configuration = RPCClientConfiguration()
        if let token { configuration.metadata["authorization"] = "Bearer \(token)" }
        var peers: [CXServiceName: RPCClient] = [:]
        for (service, given) in flags {
            let address = given ?? environment[service.addressVariable].flatMap { $0.isEmpty ? nil : $0 } ?? service.defaultAddress
            if address.lowercased() == "none" { continue }
            guard let (host, port) = try? RPCClient.parse(address: address) else {
                let source = given != nil ? "--\(service.rawValue)-addr" : service.addressVariable
                throw ValidationError("\(source): \"\(address)\" is not host:port (for example \(service.defaultAddress)) or none")
            }
            peers[service] = RPCClient(host: host, port: port, configuration: configuration)
        }
        return peers
    }

    /// The relay's peers, keyed by the destination names the outbox uses.
    public static func relayPeers(_ clients: [CXServiceName: RPCClient]) -> [String: RPCClient] {
        Dictionary(uniqueKeysWithValues: clients.map { ($0.key.rawValue, $0.value) })
    }
}

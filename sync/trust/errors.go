package trust

import "errors"

// ErrNotEnrolled means the data directory holds no node certificate: the
// node was made with plain `carenode init`, not as a hub or with --join.
var ErrNotEnrolled = errors.New("node is not enrolled in a network (no trust/node.crt) / 节点未加入网络")

// ErrNotHub means the data directory holds no CA key.
var ErrNotHub = errors.New("not a hub: no CA key in trust/ / 不是中心节点：trust/ 中没有 CA 密钥")

// ErrUntrusted means a peer's certificate does not chain to this network's
// CA, or is expired or not yet valid.
var ErrUntrusted = errors.New("certificate not issued by this network's CA, or expired / 证书不是本网络 CA 签发或已过期")

// ErrIDMismatch means a certificate's node ID is not the one derived from
// its public key.
var ErrIDMismatch = errors.New("node ID in certificate does not match its key / 证书中的节点 ID 与密钥不符")

// ErrRevoked means the peer's node has been revoked by the hub.
var ErrRevoked = errors.New("node revoked / 节点已被吊销")

// ErrBadCert means a certificate lacks carenode's node ID or role, or uses
// a key other than Ed25519.
var ErrBadCert = errors.New("not a carenode node certificate / 不是 carenode 节点证书")

// ErrTokenMalformed means a token string is not a carenode enrolment token.
var ErrTokenMalformed = errors.New("malformed enrolment token / 注册令牌格式错误")

// ErrTokenUnknown means no token with this secret was issued by the hub.
var ErrTokenUnknown = errors.New("unknown enrolment token / 注册令牌无效")

// ErrTokenUsed means the token has already enrolled a node.
var ErrTokenUsed = errors.New("enrolment token already used; ask the hub for a new one / 注册令牌已被使用，请向中心节点申请新令牌")

// ErrTokenExpired means the token's time to live has passed.
var ErrTokenExpired = errors.New("enrolment token expired; ask the hub for a new one / 注册令牌已过期，请向中心节点申请新令牌")

// ErrBadCSR means a certificate request is malformed, not Ed25519, or not
// signed by its own key.
var ErrBadCSR = errors.New("bad certificate request / 证书请求无效")

// ErrNoGossipKey means the node has no LAN gossip key: it was enrolled
// before hubs delivered one. Discovery refuses to start rather than gossip
// in clear.
var ErrNoGossipKey = errors.New("no LAN gossip key (trust/gossip.key): this node was enrolled before the hub delivered one; " +
	"copy trust/gossip.key from the hub's data directory into this node's trust/ folder and chmod 600 it, or re-enrol the node into a new data directory / " +
	"没有局域网发现密钥（trust/gossip.key）：本节点加入网络时中心节点尚未下发密钥；请将中心节点数据目录中的 trust/gossip.key 复制到本节点的 trust/ 目录并执行 chmod 600，或用新的数据目录重新注册本节点")

// ErrBadGossipKey means a gossip key is not GossipKeySize bytes.
var ErrBadGossipKey = errors.New("bad LAN gossip key / 局域网发现密钥无效")

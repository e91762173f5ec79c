package transport

import "errors"

// ErrRefused means the peer answered but refused the session or the
// enrolment; the error's text says why.
var ErrRefused = errors.New("refused by peer / 对方拒绝")

// ErrWrongHub means the server that answered an enrolment is not the hub
// whose CA fingerprint the token carries.
var ErrWrongHub = errors.New("server is not the hub named by the token (CA fingerprint differs) / 服务器不是令牌所指的中心节点")

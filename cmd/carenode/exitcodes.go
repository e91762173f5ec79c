package main

import (
	"errors"
	"os"

	"github.com/spf13/cobra"

	"carenode/node"
	"carenode/node/nodeconf"
	"carenode/node/staff"
	"carenode/node/store"
	"carenode/sync/transport"
	"carenode/sync/trust"
)

// Exit codes. Scripts rely on these numbers; never renumber.
const (
	exitOK          = 0
	exitError       = 1
	exitUsage       = 2
	exitNodeExists  = 3
	exitNoNode      = 4
	exitCorrupt     = 5
	exitLocked      = 6
	exitVerifyFail  = 7
	exitNotServing  = 8
	exitRejected    = 9
	exitServing     = 10
	exitSignIn      = 11
	exitRefused     = 12
	exitConfig      = 13
	exitInterrupted = 130
)

const exitCodesHelp = `carenode exit codes / 退出码:

  0    success                                   成功
  1    error not covered below (see message)     其他错误（见错误信息）
  2    bad command line: unknown flag, bad value 命令行有误
  3    init: the directory already holds a node  目录中已有节点，未做任何更改
  4    no node in the directory (run init)       目录中没有节点（请先 init）
  5    database file damaged or not carenode's   数据库文件损坏或不是 carenode 数据库
  6    database in use by another process        数据库正被其他进程使用
  7    backup or restore failed verification     备份或恢复校验失败
  8    the node is not serving                   节点未在运行
  9    import refused: some rows cannot be       导入被拒绝：有无法导入的行，
       imported; nothing was imported            未导入任何数据
  10   the node is serving and this needs it     节点正在运行，此操作需先停止节点
       stopped (carenode serve must be stopped)
  11   sign-in refused: wrong name or password,  登录被拒绝：用户名或密码错误、
       too many attempts, or the role may not    尝试次数过多，或该角色无权
       do this                                   执行此操作
  12   refused by the network: enrolment token   被网络拒绝：注册令牌已用过、
       used, expired or unknown, or a peer's     已过期或无效，或对方证书不是
       certificate not from this network's CA,   本网络 CA 签发、已过期或与
       expired or not matching its node          节点不符
  13   the config file has a bad value or an     配置文件中有无效的值或未知的键
       unknown key (the message names it)        （错误信息会指明）
  130  interrupted (Ctrl-C / SIGINT)             被中断
`

// usageError marks a command-line mistake.
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

// errVerify marks a backup or restore whose copy did not check out.
var errVerify = errors.New("verification failed")

func exitCode(err error) int {
	var ue usageError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ue):
		return exitUsage
	case errors.Is(err, node.ErrNodeExists):
		return exitNodeExists
	case errors.Is(err, nodeconf.ErrInvalidValue), errors.Is(err, nodeconf.ErrUnknownKey):
		return exitConfig
	case errors.Is(err, node.ErrNoNode), errors.Is(err, os.ErrNotExist):
		return exitNoNode
	case errors.Is(err, store.ErrCorrupt), errors.Is(err, store.ErrNotCarenode), errors.Is(err, store.ErrSchemaTooNew), errors.Is(err, store.ErrWrongNode):
		return exitCorrupt
	case errors.Is(err, store.ErrLocked):
		return exitLocked
	case errors.Is(err, errVerify):
		return exitVerifyFail
	case errors.Is(err, node.ErrNotServing):
		return exitNotServing
	case errors.Is(err, errInterrupted):
		return exitInterrupted
	case errors.Is(err, errRejected):
		return exitRejected
	case errors.Is(err, errServing):
		return exitServing
	case errors.Is(err, trust.ErrTokenUsed), errors.Is(err, trust.ErrTokenExpired), errors.Is(err, trust.ErrTokenUnknown),
		errors.Is(err, trust.ErrUntrusted), errors.Is(err, trust.ErrIDMismatch), errors.Is(err, trust.ErrRevoked),
		errors.Is(err, transport.ErrRefused), errors.Is(err, transport.ErrWrongHub):
		return exitRefused
	case errors.Is(err, staff.ErrBadLogin), errors.Is(err, errSignIn), errors.As(err, new(*staff.TooManyError)),
		errors.Is(err, staff.ErrPendingLocked):
		return exitSignIn
	}
	return exitError
}

var errInterrupted = errors.New("interrupted")

// errRejected marks an import refused because some rows cannot be imported.
var errRejected = errors.New("import refused / 导入被拒绝")

// errServing marks an operation that cannot go through the running node.
var errServing = errors.New("the node is serving / 节点正在运行")

// errSignIn marks a sign-in the node refused, or a role not allowed to act.
var errSignIn = errors.New("sign-in refused / 登录被拒绝")

func exitCodesCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "exit-codes",
		Short: "What carenode's exit codes mean / 退出码说明",
		Long:  exitCodesHelp,
	}
}

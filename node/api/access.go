package api

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"

	"carenode/node/auth"
	"carenode/node/chart"
	"carenode/node/staff"
)

// Staff is what the API needs of the node's accounts.
type Staff interface {
	Login(ctx context.Context, name, password, remote string) (staff.LoginResult, error)
	Logout(token string)
	Session(token string) (auth.Session, error)
	Add(ctx context.Context, name string, role auth.Role, password []byte) (staff.AddResult, error)
	Public() ([]staff.Account, error)
	Locked() bool
	ChangePassword(ctx context.Context, name, oldPassword, newPassword, remote string) error
	ResetPassword(ctx context.Context, name, newPassword string) error
}

// Route access beyond auth's permissions.
const (
	public   auth.Permission = "public"    // no sign-in: /healthz, login
	signedIn auth.Permission = "signed-in" // any signed-in account
)

// controlAllowed are what the node's local control token may do: it proves
// access to the data directory (it is in serve.json, readable by the node's
// owner only), which already gives the database file, so it may add accounts,
// read status, take backups and read follow-up work lists (task records are
// not sealed: `carenode worklist` reads the same from the file when the node
// is stopped), but never read a chart.
func controlAllowed(p auth.Permission) bool {
	return p == signedIn || p == auth.PermUsersManage || p == auth.PermBackup || p == auth.PermFollowupRead
}

// ControlActor is the actor of requests made with the control token: the
// carenode CLI on the node's own machine.
const ControlActor = "local-cli"

type actorKey struct{}

// actor returns who is calling; zero when the API runs without accounts.
func actor(r *http.Request) chart.Actor {
	a, _ := r.Context().Value(actorKey{}).(chart.Actor)
	return a
}

// authorize checks the request's bearer token against perm and returns the
// request with its actor.
func (s *Server) authorize(r *http.Request, perm auth.Permission) (*http.Request, error) {
	if s.opts.Staff == nil || perm == public {
		return r, nil
	}
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	token = strings.TrimSpace(token)
	if !ok || token == "" {
		if (perm == auth.PermRecordsRead || perm == auth.PermRecordsWrite) && s.noAccountsYet() {
			// The generic record API's contract: it asks for an admin's
			// token once accounts exist. Before the first one there is no
			// one to sign in as, no data key and so no personal data; the
			// service collections stay closed to it either way.
			return r, nil
		}
		return nil, errUnauthorized
	}
	var a chart.Actor
	if ct := s.opts.ControlToken; ct != "" && subtle.ConstantTimeCompare([]byte(token), []byte(ct)) == 1 {
		if !controlAllowed(perm) {
			return nil, errForbidden(perm)
		}
		a = chart.Actor{Name: ControlActor, Role: auth.RoleAdmin}
	} else {
		sess, err := s.opts.Staff.Session(token)
		if err != nil {
			return nil, errUnauthorized
		}
		if perm != signedIn && !sess.Role.Can(perm) {
			return nil, errForbidden(perm)
		}
		a = chart.Actor{Name: sess.Account, Role: sess.Role}
	}
	return r.WithContext(context.WithValue(r.Context(), actorKey{}, a)), nil
}

// noAccountsYet reports whether the node holds no staff account at all.
func (s *Server) noAccountsYet() bool {
	accts, err := s.opts.Staff.Public()
	return err == nil && len(accts) == 0
}

var errUnauthorized = &apiError{status: http.StatusUnauthorized, code: CodeUnauthorized,
	msg: "sign in first: send Authorization: Bearer TOKEN from POST /api/v1/auth/login", zhMsg: "请先登录。"}

func errForbidden(p auth.Permission) error {
	return &apiError{status: http.StatusForbidden, code: CodeForbidden,
		msg: "your role may not do this (needs permission " + string(p) + ")", zhMsg: "您的角色无权执行此操作。"}
}

type loginIn struct {
	Name     string `json:"name"`
	Password string `json:"password"`
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	if s.opts.Staff == nil {
		return &apiError{status: http.StatusNotFound, code: CodeNotFound, msg: "this node has no accounts"}
	}
	var in loginIn
	if err := s.decode(w, r, &in); err != nil {
		return err
	}
	if in.Name == "" || in.Password == "" {
		return &apiError{status: http.StatusBadRequest, code: CodeBadRequest, msg: "name and password are required",
			zhMsg: "请输入用户名和密码。"}
	}
	res, err := s.opts.Staff.Login(r.Context(), strings.TrimSpace(in.Name), in.Password, r.RemoteAddr)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.opts.Staff.Logout(strings.TrimSpace(token))
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) me(w http.ResponseWriter, r *http.Request) error {
	a := actor(r)
	writeJSON(w, http.StatusOK, map[string]any{"name": a.Name, "role": a.Role, "locked": s.opts.Staff.Locked()})
	return nil
}

type staffIn struct {
	Name     string `json:"name"`
	Role     string `json:"role"`
	Password string `json:"password"`
}

func (s *Server) addStaff(w http.ResponseWriter, r *http.Request) error {
	var in staffIn
	if err := s.decode(w, r, &in); err != nil {
		return err
	}
	role, err := auth.ParseRole(in.Role)
	if err != nil {
		return &apiError{status: http.StatusBadRequest, code: CodeBadRequest, msg: err.Error(),
			zhMsg: "角色无效，应为 admin、doctor、nurse、desk 或 kiosk。"}
	}
	res, err := s.opts.Staff.Add(r.Context(), in.Name, role, []byte(in.Password))
	if err != nil {
		return err
	}
	s.log.Info("account added through the API", "account", in.Name, "role", role, "by", actor(r).Name)
	writeJSON(w, http.StatusCreated, res)
	return nil
}

func (s *Server) listStaff(w http.ResponseWriter, r *http.Request) error {
	accts, err := s.opts.Staff.Public()
	if err != nil {
		return err
	}
	if accts == nil {
		accts = []staff.Account{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"accounts": accts})
	return nil
}

// staffError maps the staff package's errors.
func staffError(err error) *apiError {
	var tm *staff.TooManyError
	switch {
	case errors.As(err, &tm):
		return &apiError{status: http.StatusTooManyRequests, code: CodeTooMany, msg: tm.Error(),
			zhMsg: "登录失败次数过多，请在 " + tm.Wait.Round(1e9).String() + " 后重试。", retryAfter: tm.Wait}
	case errors.Is(err, staff.ErrBadLogin):
		return &apiError{status: http.StatusUnauthorized, code: CodeBadLogin, msg: err.Error(), zhMsg: "用户名或密码错误。"}
	case errors.Is(err, staff.ErrPendingLocked):
		return &apiError{status: http.StatusLocked, code: CodeLocked, msg: err.Error(),
			zhMsg: "该账户尚未获得本机密钥：请先由曾在本机登录过的账户登录。"}
	case errors.Is(err, staff.ErrBadName):
		return &apiError{status: http.StatusBadRequest, code: CodeBadRequest, msg: err.Error(),
			zhMsg: "用户名须为 2 至 32 位小写字母、数字或 . _ -，并以字母开头。"}
	case errors.Is(err, staff.ErrExists):
		return &apiError{status: http.StatusConflict, code: CodeConflict, msg: err.Error(), zhMsg: "该用户名已存在。"}
	case errors.Is(err, staff.ErrWeakPassword):
		return &apiError{status: http.StatusBadRequest, code: CodeBadRequest, msg: err.Error(), zhMsg: "密码太短，至少需要 8 个字符。"}
	case errors.Is(err, staff.ErrLockedReset):
		return &apiError{status: http.StatusLocked, code: CodeLocked, msg: err.Error(), zhMsg: "须在已解锁的节点上重置密码：请先登录。"}
	case errors.Is(err, staff.ErrNoAccount):
		return &apiError{status: http.StatusNotFound, code: CodeNotFound, msg: err.Error(), zhMsg: "没有该账户。"}
	case errors.Is(err, staff.ErrFirstAdmin):
		return &apiError{status: http.StatusBadRequest, code: CodeBadRequest, msg: err.Error(), zhMsg: "本机的第一个账户必须是管理员。"}
	}
	return nil
}

type passwordIn struct {
	OldPassword string `json:"oldPassword"`
	NewPassword string `json:"newPassword"`
}

// changePassword lets a signed-in account change its own password.
func (s *Server) changePassword(w http.ResponseWriter, r *http.Request) error {
	var in passwordIn
	if err := s.decode(w, r, &in); err != nil {
		return err
	}
	a := actor(r)
	if a.Name == ControlActor {
		return errForbidden(signedIn)
	}
	if err := s.opts.Staff.ChangePassword(r.Context(), a.Name, in.OldPassword, in.NewPassword, r.RemoteAddr); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type resetIn struct {
	Password string `json:"password"`
}

// resetPassword lets an admin set a new password for a staff member.
func (s *Server) resetPassword(w http.ResponseWriter, r *http.Request) error {
	var in resetIn
	if err := s.decode(w, r, &in); err != nil {
		return err
	}
	name := r.PathValue("name")
	if err := s.opts.Staff.ResetPassword(r.Context(), name, in.Password); err != nil {
		return err
	}
	s.log.Info("password reset through the API", "account", name, "by", actor(r).Name)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

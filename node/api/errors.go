package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"carenode/crdt"
	"carenode/node/care"
	"carenode/node/chart"
	"carenode/node/store"
)

// domainError maps the errors of the patient and staff services, or nil.
func domainError(err error) *apiError {
	if ae := staffError(err); ae != nil {
		return ae
	}
	var ve *care.ValidationError
	var de *chart.DuplicateError
	switch {
	case errors.As(err, &ve):
		return &apiError{status: http.StatusBadRequest, code: CodeInvalid, msg: ve.Message("en"), zhMsg: ve.Message("zh"),
			detail: errorDetail{Problems: ve.Problems, Warnings: ve.Warnings}}
	case errors.As(err, &de):
		return &apiError{status: http.StatusConflict, code: CodeDuplicate,
			msg:    "A patient with this ID number is already registered; open the existing chart, or register again with ?force=true if this really is another person.",
			zhMsg:  "该身份证号已登记，请打开已有档案；如确为另一人，可加 ?force=true 再次登记。",
			detail: errorDetail{Existing: de.Existing}}
	case errors.Is(err, chart.ErrLocked):
		return &apiError{status: http.StatusLocked, code: CodeLocked, msg: "Patient data is locked: a staff member must sign in on this node first.",
			zhMsg: "患者数据已锁定：请先由工作人员在本机登录。"}
	case errors.Is(err, chart.ErrNotFound):
		return &apiError{status: http.StatusNotFound, code: CodeNotFound, msg: "No patient has this id.", zhMsg: "未找到该患者。"}
	case errors.Is(err, chart.ErrNotAssigned):
		return &apiError{status: http.StatusForbidden, code: CodeNotAssigned, msg: "This patient is not assigned to you on this laptop.",
			zhMsg: "该患者未分配给您，本机无法查看。"}
	case errors.Is(err, chart.ErrStale):
		return &apiError{status: http.StatusPreconditionFailed, code: CodeStale,
			msg: "Someone else changed this chart after you opened it; reload it and make your change again.", zhMsg: "您打开档案后已有他人修改，请刷新后重新修改。"}
	case errors.Is(err, chart.ErrNoSuchElement):
		return &apiError{status: http.StatusNotFound, code: CodeNotFound, msg: "The chart has no such entry.", zhMsg: "档案中没有该条目。"}
	case errors.Is(err, chart.ErrNoConflict):
		return &apiError{status: http.StatusConflict, code: CodeConflict, msg: "This field has no conflict to resolve.", zhMsg: "该项没有需要处理的冲突。"}
	case errors.Is(err, chart.ErrSelfMerge):
		return &apiError{status: http.StatusBadRequest, code: CodeBadRequest, msg: "A patient cannot be merged into the same patient.",
			zhMsg: "不能将患者合并到其本身。"}
	case errors.Is(err, chart.ErrBadRequest):
		return &apiError{status: http.StatusBadRequest, code: CodeBadRequest, msg: err.Error()}
	}
	return nil
}

// Error codes in the JSON error body.
const (
	CodeBadRequest    = "bad_request"
	CodeNotFound      = "not_found"
	CodeConflict      = "conflict"
	CodeTooLarge      = "too_large"
	CodeMediaType     = "unsupported_media_type"
	CodeMethod        = "method_not_allowed"
	CodeInternal      = "internal"
	CodeUnavailable   = "unavailable"
	CodeInvalidChange = "invalid_change"
	CodeUnauthorized  = "unauthorized"        // no or unknown session token
	CodeForbidden     = "forbidden"           // the role may not call the route
	CodeBadLogin      = "bad_login"           // wrong name or password
	CodeTooMany       = "too_many_attempts"   // sign-in rate limit
	CodeLocked        = "locked"              // patient data not unlocked yet
	CodeInvalid       = "invalid"             // a patient body broke a rule; see problems
	CodeDuplicate     = "duplicate_id_number" // see existing
	CodeStale         = "stale"               // If-Match no longer matches
	CodeNotAssigned   = "not_assigned"        // a nurse's laptop: not their patient
)

// zh gives a short Simplified Chinese summary per code for people reading
// an error on a kiosk or desk screen.
var zh = map[string]string{
	CodeBadRequest:    "请求有误",
	CodeNotFound:      "未找到",
	CodeConflict:      "已存在",
	CodeTooLarge:      "请求内容过大",
	CodeMediaType:     "请求须为 JSON",
	CodeMethod:        "不支持此操作",
	CodeInternal:      "服务器内部错误",
	CodeUnavailable:   "服务暂不可用",
	CodeInvalidChange: "数据变更无效",
	CodeUnauthorized:  "请先登录",
	CodeForbidden:     "无权执行此操作",
	CodeBadLogin:      "用户名或密码错误",
	CodeTooMany:       "尝试次数过多",
	CodeLocked:        "患者数据尚未解锁",
	CodeInvalid:       "输入有误",
	CodeDuplicate:     "身份证号已登记",
	CodeStale:         "档案已被他人修改",
	CodeNotAssigned:   "非您负责的患者",
}

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"` // in the request's language (Accept-Language)
	Zh      string `json:"zh"`
	// Problems and Warnings list what is wrong with a patient body, field by
	// field, each in both languages.
	Problems []care.Problem `json:"problems,omitempty"`
	Warnings []care.Problem `json:"warnings,omitempty"`
	// Existing are the patients already registered with the ID number.
	Existing []chart.Summary `json:"existing,omitempty"`
	// Rejected are the roster rows an import refused, with reasons.
	Rejected []rejectedRow `json:"rejected,omitempty"`
}

// apiError is an error with its HTTP status and code.
type apiError struct {
	status     int
	code       string
	msg        string
	zhMsg      string // the same sentence in Chinese, when there is one
	retryAfter time.Duration
	detail     errorDetail // problems, warnings, existing
}

func (e *apiError) Error() string { return e.msg }

func badRequest(msg string) error {
	return &apiError{status: http.StatusBadRequest, code: CodeBadRequest, msg: msg}
}

// writeError maps err to a status and code and writes the JSON body.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apiError
	var mbe *http.MaxBytesError
	if ae2 := domainError(err); ae2 != nil {
		ae = ae2
	}
	switch {
	case ae != nil:
	case errors.As(err, &ae):
	case errors.As(err, &mbe):
		ae = &apiError{status: http.StatusRequestEntityTooLarge, code: CodeTooLarge, msg: "request body larger than the limit of " + itoa(mbe.Limit) + " bytes"}
	case errors.Is(err, store.ErrNotFound):
		ae = &apiError{status: http.StatusNotFound, code: CodeNotFound, msg: err.Error()}
	case errors.Is(err, store.ErrExists):
		ae = &apiError{status: http.StatusConflict, code: CodeConflict, msg: err.Error()}
	case errors.Is(err, store.ErrInvalid):
		ae = &apiError{status: http.StatusBadRequest, code: CodeBadRequest, msg: err.Error()}
	case errors.Is(err, crdt.ErrInvalidChange), errors.Is(err, crdt.ErrBadVector), errors.Is(err, crdt.ErrBadStamp):
		ae = &apiError{status: http.StatusBadRequest, code: CodeInvalidChange, msg: err.Error()}
	case errors.Is(err, store.ErrClosed):
		ae = &apiError{status: http.StatusServiceUnavailable, code: CodeUnavailable, msg: "node is shutting down"}
	default:
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		ae = &apiError{status: http.StatusInternalServerError, code: CodeInternal, msg: "internal error; see the node's log"}
	}
	d := ae.detail
	d.Code, d.Message, d.Zh = ae.code, ae.msg, zh[ae.code]
	if ae.zhMsg != "" {
		d.Zh = ae.zhMsg
		if care.Lang(r.Header.Get("Accept-Language")) == "zh" {
			d.Message = ae.zhMsg
		}
	}
	if ae.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(ae.retryAfter.Seconds()+0.999)))
	}
	writeJSON(w, ae.status, errorBody{Error: d})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // the client went away; nothing left to tell it
}

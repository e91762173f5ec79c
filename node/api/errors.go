package api

import (
	"encoding/json"
	"errors"
	"net/http"

	"carenode/crdt"
	"carenode/node/store"
)

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
}

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Zh      string `json:"zh"`
}

// apiError is an error with its HTTP status and code.
type apiError struct {
	status int
	code   string
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func badRequest(msg string) error { return &apiError{http.StatusBadRequest, CodeBadRequest, msg} }

// writeError maps err to a status and code and writes the JSON body.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apiError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &ae):
	case errors.As(err, &mbe):
		ae = &apiError{http.StatusRequestEntityTooLarge, CodeTooLarge, "request body larger than the limit of " + itoa(mbe.Limit) + " bytes"}
	case errors.Is(err, store.ErrNotFound):
		ae = &apiError{http.StatusNotFound, CodeNotFound, err.Error()}
	case errors.Is(err, store.ErrExists):
		ae = &apiError{http.StatusConflict, CodeConflict, err.Error()}
	case errors.Is(err, store.ErrInvalid):
		ae = &apiError{http.StatusBadRequest, CodeBadRequest, err.Error()}
	case errors.Is(err, crdt.ErrInvalidChange), errors.Is(err, crdt.ErrBadVector), errors.Is(err, crdt.ErrBadStamp):
		ae = &apiError{http.StatusBadRequest, CodeInvalidChange, err.Error()}
	case errors.Is(err, store.ErrClosed):
		ae = &apiError{http.StatusServiceUnavailable, CodeUnavailable, "node is shutting down"}
	default:
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		ae = &apiError{http.StatusInternalServerError, CodeInternal, "internal error; see the node's log"}
	}
	writeJSON(w, ae.status, errorBody{Error: errorDetail{Code: ae.code, Message: ae.msg, Zh: zh[ae.code]}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // the client went away; nothing left to tell it
}

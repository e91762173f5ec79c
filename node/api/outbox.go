package api

import (
	"context"
	"errors"
	"net/http"

	"carenode/node/auth"
	"carenode/node/outbox"
)

// Outbox is what the API needs of the outbox service.
type Outbox interface {
	List(q outbox.Query) (outbox.Page, error)
	Get(id string) (outbox.View, error)
	Retry(ctx context.Context, id, by string) (outbox.View, error)
	Cancel(ctx context.Context, id, by string) (outbox.View, error)
}

var _ Outbox = (*outbox.Service)(nil)

// outboxRoutes adds its routes: the queued messages with their status
// (never their text, and numbers masked), retry and cancel.
func (s *Server) outboxRoutes(route routeFunc) {
	route("GET /api/v1/outbox", auth.PermOutboxRead, s.listOutbox)
	route("GET /api/v1/outbox/{id}", auth.PermOutboxRead, s.getOutbox)
	route("POST /api/v1/outbox/{id}/retry", auth.PermOutboxManage, s.outboxAction(Outbox.Retry))
	route("POST /api/v1/outbox/{id}/cancel", auth.PermOutboxManage, s.outboxAction(Outbox.Cancel))
}

func (s *Server) listOutbox(w http.ResponseWriter, r *http.Request) error {
	q, err := query(r)
	if err != nil {
		return err
	}
	for k := range q {
		switch k {
		case "status", "patient", "after", "limit":
		default:
			return badRequest("unknown query parameter " + k + "; use status, patient, after or limit")
		}
	}
	limit, err := pageLimit(q, s.opts.MaxPage)
	if err != nil {
		return err
	}
	page, err := s.opts.Outbox.List(outbox.Query{Status: outbox.Status(q.Get("status")), Patient: q.Get("patient"),
		After: q.Get("after"), Limit: limit})
	if err != nil {
		return outboxError(err)
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

func (s *Server) getOutbox(w http.ResponseWriter, r *http.Request) error {
	v, err := s.opts.Outbox.Get(r.PathValue("id"))
	if err != nil {
		return outboxError(err)
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (s *Server) outboxAction(act func(Outbox, context.Context, string, string) (outbox.View, error)) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		v, err := act(s.opts.Outbox, r.Context(), r.PathValue("id"), actor(r).Name)
		if err != nil {
			return outboxError(err)
		}
		writeJSON(w, http.StatusOK, v)
		return nil
	}
}

// statusZh names a message status in Chinese.
var statusZh = map[outbox.Status]string{
	outbox.StatusQueued: "排队中", outbox.StatusSending: "发送中", outbox.StatusSent: "已发送",
	outbox.StatusFailed: "发送失败", outbox.StatusExpired: "已过期", outbox.StatusCancelled: "已取消",
}

// outboxError maps the outbox's errors to API errors in both languages;
// others pass through to writeError.
func outboxError(err error) error {
	var se *outbox.StateError
	switch {
	case errors.As(err, &se):
		verb, verbZh := "retry", "重试"
		if se.Action == "cancel" {
			verb, verbZh = "cancel", "取消"
		}
		return &apiError{status: http.StatusConflict, code: CodeConflict,
			msg:   "Cannot " + verb + " this message: it is " + string(se.Status) + ".",
			zhMsg: "该消息" + statusZh[se.Status] + "，无法" + verbZh + "。"}
	case errors.Is(err, outbox.ErrNotFound):
		return &apiError{status: http.StatusNotFound, code: CodeNotFound, msg: "No message has this id.", zhMsg: "未找到该消息。"}
	case errors.Is(err, outbox.ErrInvalid):
		return &apiError{status: http.StatusBadRequest, code: CodeBadRequest, msg: err.Error(),
			zhMsg: "查询条件有误：状态须为 queued、sending、sent、failed、expired 或 cancelled。"}
	case errors.Is(err, outbox.ErrLocked):
		return &apiError{status: http.StatusLocked, code: CodeLocked, msg: "Patient data is locked: a staff member must sign in on this node first.",
			zhMsg: "患者数据已锁定：请先由工作人员在本机登录。"}
	}
	return err
}

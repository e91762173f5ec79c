package api

import (
	"context"
	"errors"
	"io"
	"net/http"

	"carenode/node/auth"
	"carenode/node/chart"
	"carenode/node/education"
	"carenode/node/survey"
)

// Surveys is what the API needs of the survey service (node/survey).
type Surveys interface {
	Submit(ctx context.Context, by string, in survey.Input) (survey.Result, error)
	Cases(ctx context.Context, f survey.CaseFilter) ([]survey.Case, error)
	Investigate(ctx context.Context, by, id string) (survey.Case, error)
	Resolve(ctx context.Context, by, id, response string) (survey.Case, error)
	ReportDays(ctx context.Context, from, to string) (survey.Report, error)
}

// Education is what the API needs of the education service
// (node/education).
type Education interface {
	Library(ctx context.Context) ([]education.Article, error)
	AddArticle(ctx context.Context, by string, a education.Article) (education.Article, error)
	ForPatient(ctx context.Context, a chart.Actor, patient string) (education.PatientEducation, error)
	Send(ctx context.Context, a chart.Actor, patient, article string) (education.Delivery, error)
}

// Feedback is what the API needs for surveys, feedback cases, reports and
// health education. NewFeedback joins the two services.
type Feedback interface {
	Surveys
	Education
}

// NewFeedback joins the survey and education services into Options.Feedback.
func NewFeedback(s Surveys, e Education) Feedback {
	return struct {
		Surveys
		Education
	}{s, e}
}

// feedbackRoutes adds its routes.
func (s *Server) feedbackRoutes(route routeFunc) {
	fb := func(h func(http.ResponseWriter, *http.Request) error) func(http.ResponseWriter, *http.Request) error {
		return func(w http.ResponseWriter, r *http.Request) error { return feedbackError(h(w, r)) }
	}
	route("POST /api/v1/surveys", auth.PermSurveySubmit, fb(s.submitSurvey))
	route("GET /api/v1/cases", auth.PermCasesManage, fb(s.listCases))
	route("POST /api/v1/cases/{id}/investigate", auth.PermCasesManage, fb(s.investigateCase))
	route("POST /api/v1/cases/{id}/resolve", auth.PermCasesManage, fb(s.resolveCase))
	route("GET /api/v1/reports/satisfaction", auth.PermReportsRead, fb(s.satisfactionReport))
	route("GET /api/v1/education", auth.PermPatientRead, fb(s.educationLibrary))
	route("POST /api/v1/education", auth.PermTemplatesManage, fb(s.addArticle))
	route("GET /api/v1/patients/{id}/education", auth.PermPatientRead, fb(s.patientEducation))
	route("POST /api/v1/patients/{id}/education/{article}/send", auth.PermFollowupWrite, fb(s.sendArticle))
}

// feedbackError maps the survey and education services' errors; others
// (validation problems, a locked chart, an unknown patient) pass to
// writeError unchanged.
func feedbackError(err error) error {
	if err == nil {
		return nil
	}
	ae := func(status int, code, en, zh string) error {
		return &apiError{status: status, code: code, msg: en, zhMsg: zh}
	}
	switch {
	case errors.Is(err, survey.ErrLocked):
		return ae(http.StatusLocked, CodeLocked, "A comment or response is sealed with the node's key: a staff member must sign in on this node first (or send the survey without a comment).",
			"意见和答复须加密保存：请先由工作人员在本机登录（或提交不含意见的问卷）。")
	case errors.Is(err, survey.ErrAnswered):
		return ae(http.StatusConflict, CodeConflict, "This visit already has a survey.", "本次就诊已评价过。")
	case errors.Is(err, survey.ErrNoCase):
		return ae(http.StatusNotFound, CodeNotFound, "No feedback case has this id.", "未找到该投诉处理单。")
	case errors.Is(err, survey.ErrTransition):
		return ae(http.StatusConflict, CodeConflict, "The case's state does not allow this: a case goes open, investigating, resolved, and a resolved case is closed.",
			"处理单当前状态不允许此操作：流程为待处理、处理中、已解决，已解决的不能再改。")
	case errors.Is(err, survey.ErrPeriod):
		return ae(http.StatusBadRequest, CodeBadRequest, "from and to are days written YYYY-MM-DD, from not after to: "+err.Error(),
			"起止日期须写作 YYYY-MM-DD，且开始日期不能晚于结束日期。")
	case errors.Is(err, survey.ErrNoQueue), errors.Is(err, education.ErrNoQueue):
		return ae(http.StatusServiceUnavailable, CodeUnavailable, "This node has no outbox to send messages through.", "本机未配置短信发件箱。")
	case errors.Is(err, education.ErrNoArticle):
		return ae(http.StatusNotFound, CodeNotFound, "The education library has no article with this id.", "健康教育库中没有该文章。")
	case errors.Is(err, education.ErrArticleExists):
		return ae(http.StatusConflict, CodeConflict, "The library already has an article with this id; choose another id.", "已有相同编号的文章，请换一个编号。")
	case errors.Is(err, education.ErrAlreadySent):
		return ae(http.StatusConflict, CodeConflict, "This article was already sent to this patient; it is not sent twice.", "该文章已发送给该患者，不会重复发送。")
	}
	return err
}

func (s *Server) submitSurvey(w http.ResponseWriter, r *http.Request) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, survey.MaxBodyBytes+1))
	if err != nil {
		return err
	}
	in, err := survey.Decode(body)
	if err != nil {
		return err
	}
	res, err := s.opts.Feedback.Submit(r.Context(), actor(r).Name, in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, res)
	return nil
}

func (s *Server) listCases(w http.ResponseWriter, r *http.Request) error {
	q, err := query(r)
	if err != nil {
		return err
	}
	cases, err := s.opts.Feedback.Cases(r.Context(), survey.CaseFilter{State: q.Get("state"), Department: q.Get("department")})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"cases": cases})
	return nil
}

func (s *Server) investigateCase(w http.ResponseWriter, r *http.Request) error {
	c, err := s.opts.Feedback.Investigate(r.Context(), actor(r).Name, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

type caseResolveIn struct {
	Response string `json:"response"`
}

func (s *Server) resolveCase(w http.ResponseWriter, r *http.Request) error {
	var in caseResolveIn
	if err := s.decode(w, r, &in); err != nil {
		return err
	}
	c, err := s.opts.Feedback.Resolve(r.Context(), actor(r).Name, r.PathValue("id"), in.Response)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

func (s *Server) satisfactionReport(w http.ResponseWriter, r *http.Request) error {
	q, err := query(r)
	if err != nil {
		return err
	}
	rep, err := s.opts.Feedback.ReportDays(r.Context(), q.Get("from"), q.Get("to"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}

func (s *Server) educationLibrary(w http.ResponseWriter, r *http.Request) error {
	lib, err := s.opts.Feedback.Library(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"articles": lib})
	return nil
}

func (s *Server) addArticle(w http.ResponseWriter, r *http.Request) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, education.MaxBodyBytes+1))
	if err != nil {
		return err
	}
	a, err := education.DecodeArticle(body)
	if err != nil {
		return err
	}
	a, err = s.opts.Feedback.AddArticle(r.Context(), actor(r).Name, a)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/education/"+a.ID)
	writeJSON(w, http.StatusCreated, a)
	return nil
}

func (s *Server) patientEducation(w http.ResponseWriter, r *http.Request) error {
	pe, err := s.opts.Feedback.ForPatient(r.Context(), actor(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, pe)
	return nil
}

func (s *Server) sendArticle(w http.ResponseWriter, r *http.Request) error {
	d, err := s.opts.Feedback.Send(r.Context(), actor(r), r.PathValue("id"), r.PathValue("article"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, d)
	return nil
}

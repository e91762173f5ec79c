// Package followup is the follow-up plans' rules that need no storage:
// templates as data (LoadTemplate, DefaultTemplates), which templates an
// event starts (Triggered), when contacts are due (Schedule), whether an
// attempt's answers are valid and abnormal (Evaluate) or worse than last
// time (Worsening), and what to do after failed attempts (NextStep). It
// is pure: no storage, no HTTP, no clock (dates are passed in), no
// package-level mutable state; every node computes the same answers from
// the same inputs. The store keeps plans, tasks, attempts and alerts and
// calls these functions; the API decodes bodies and passes them in.
//
// # Templates
//
// A template is one JSON object, shipped as templates/<id>.json and
// embedded; an admin may load others through the API (LoadTemplate takes
// the bytes). The shape:
//
//	{
//	  "id": "hypertension",                        // a-z, 0-9, -; the file name
//	  "name":   {"en": "…", "zh": "…"},            // every text is bilingual
//	  "source": {"en": "…", "zh": "…"},            // the norm followed; required when the schedule repeats
//	  "triggers": [
//	    {"event": "diagnosis", "from": "I10", "to": "I15"},  // ICD-10 category range, subcodes included
//	    {"event": "procedure", "procedure": "surgery"},
//	    {"event": "discharge", "from": "I60", "to": "I64"}   // range and procedure optional
//	  ],
//	  "schedule": {"offsets": [{"days": 1}, {"days": 14, "method": "home_visit"}]},
//	  // or: {"repeat": {"unit": "month", "every": 1, "count": 0, "methods": ["home_visit", "phone", "phone"]}}
//	  "method": "phone",                           // phone, sms, video, home_visit
//	  "maxFailedAttempts": 3,                      // per rung; absent means 3
//	  "escalation": ["family", "village_health_worker", "home_visit", "lost_to_follow_up"], // absent means this
//	  "sendSummary": true,
//	  "questions": [
//	    {"id": "systolic", "type": "number", "unit": "mm[Hg]", "min": 50, "max": 300,
//	     "text": {"en": "Systolic blood pressure", "zh": "收缩压"},
//	     "abnormal": [{"atLeast": 160, "level": "abnormal"}, {"atLeast": 180, "level": "urgent", "note": {…}}],
//	     "worse": {"when": "higher", "by": 20}},
//	    {"id": "pain", "type": "scale", …},         // whole numbers 0–10
//	    {"id": "wound_redness", "type": "yes_no", "abnormal": [{"is": true, "level": "abnormal"}]},
//	    {"id": "symptoms", "type": "choice", "multiple": true, "choices": [{"id": "none", "text": {…}}, …],
//	     "abnormal": [{"anyOf": ["nosebleed"], "level": "abnormal"}]},
//	    {"id": "notes", "type": "text"}
//	  ]
//	}
//
// LoadTemplate refuses unknown fields and reports every problem at once
// (an *Error of care.Problems: JSON path, code, English and Chinese), so
// an admin fixes a file in one go. It fills in the defaults and the
// canonical ICD-10 forms, so a loaded template marshals and loads to
// itself, and a plan can keep a copy of the template it was made from.
//
// # The shipped templates, and what they rely on
//
// hypertension (I10–I15, and I1A, which ICD-10-CM added outside that
// range) and diabetes-t2 (E11, and E14, WHO's unspecified diabetes that
// Chinese records use; not E10 type 1, nor E13, which the national type 2
// programme does not cover) are monthly and open-ended. Both name their
// source: 国家基本公共卫生服务规范（第三版）, China's National Basic Public
// Health Service Standards, 3rd edition (2017). From it they take only:
// at least four face-to-face follow-ups a year for hypertension and type
// 2 diabetes patients; urgent referral at systolic ≥180 or diastolic ≥110
// mmHg, and, for diabetes, blood glucose ≥16.7 or ≤3.9 mmol/L; a fasting
// glucose below 7.0 mmol/L as the control target. The alert threshold of
// 160/100 is the project's own (issue 7's contract), and says so in its
// note; the heart rate, temperature and pain thresholds are the project's
// defaults, with no citation. A monthly contact meets "four a year" three
// times over, but a phone call is not face-to-face, so the method cycles
// home_visit, phone, phone: any twelve months of a plan hold at least four
// home visits (a test checks every start date over six years).
// post-surgery (procedure kind "surgery") calls on days 1, 3, 7 and 14.
//
// # Decisions
//
//   - Dates are Date, a calendar day with no zone, so a due day cannot
//     move with a laptop's clock or zone.
//   - "Monthly" is the same day of the month, counted from the start each
//     time and clamped to the month's last day: from 31 January, 28 or 29
//     February, then 31 March (not 28 March, as chaining would give).
//   - Due.Seq numbers a plan's contacts from 1 whatever the horizon, so
//     two nodes scheduling the same plan make the same tasks, and a longer
//     horizon only adds tasks.
//   - A number outside a question's physical range (systolic 1400) is
//     refused as a typo, not raised as an alert; error sentences name the
//     question and the allowed values but never quote the answer, because
//     errors are logged and answers are health data. Findings, which go
//     to the doctor, carry the values. An unanswered question is not an
//     error (not every patient has a glucose meter); Result lists it.
//   - One finding per question: the first rule of the most severe level.
//   - Escalation never closes a task: each rung gets maxFailedAttempts
//     failures (no_answer), a wrong_number moves up a rung at once, and
//     the last rung is always lost_to_follow_up, which keeps the task open
//     and notifies the supervisor. deceased, moved and refused end the
//     plan with that reason wherever they fall among the attempts, and
//     before reached, so the result does not depend on the order in which
//     attempts made at two nodes arrive.
package followup

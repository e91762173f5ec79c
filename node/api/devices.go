package api

import (
	"context"
	"errors"
	"net/http"

	"carenode/node/auth"
)

// DeviceAdmin is what the API needs of the device front ends that
// cmd/carenode starts once the node is open (node may not import devices):
// the MQTT device accounts, the devices asking to join, and the serial
// ports' and listeners' status. Values are returned ready for JSON.
type DeviceAdmin interface {
	// Asking lists the devices refused for want of an account, newest first.
	Asking() (any, error)
	// Accounts lists the device accounts.
	Accounts() (any, error)
	// Status is the ports', MLLP listener's and broker's state.
	Status() any
	// Approve gives the device an account: with password, or, when it is
	// empty, the one the device last offered.
	Approve(ctx context.Context, device, password, by string) error
	// Reject takes a device off the asking list, with the reason kept.
	Reject(ctx context.Context, device, reason, by string) error
	// Revoke ends a device's account.
	Revoke(ctx context.Context, device, by string) error
	// MessageZh says err in Chinese ("" when it has no sentence for it).
	MessageZh(err error) string
}

// Errors a DeviceAdmin wraps so the API answers with the right status.
var (
	ErrNoSuchDevice   = errors.New("no such device")
	ErrDeviceRefused  = errors.New("the device account cannot be changed so")
	errNoDeviceAdmins = &apiError{status: http.StatusServiceUnavailable, code: CodeUnavailable,
		msg:   "device front ends are not running on this node (serve starts them)",
		zhMsg: "本节点未启动设备接入（由 carenode serve 启动）。"}
)

// deviceAdminRoutes adds the device account and status routes.
func (s *Server) deviceAdminRoutes(route routeFunc) {
	route("GET /api/v1/devices/asking", auth.PermDevicesManage, s.devicesAsking)
	route("GET /api/v1/devices/accounts", auth.PermDevicesManage, s.deviceAccounts)
	route("GET /api/v1/devices/status", auth.PermDevicesManage, s.deviceStatus)
	route("POST /api/v1/devices/{device}/approve", auth.PermDevicesManage, s.deviceDecision("approve"))
	route("POST /api/v1/devices/{device}/reject", auth.PermDevicesManage, s.deviceDecision("reject"))
	route("POST /api/v1/devices/{device}/revoke", auth.PermDevicesManage, s.deviceDecision("revoke"))
}

func (s *Server) deviceAdmin() (DeviceAdmin, error) {
	if s.opts.Devices == nil {
		return nil, errNoDeviceAdmins
	}
	d := s.opts.Devices()
	if d == nil {
		return nil, errNoDeviceAdmins
	}
	return d, nil
}

func (s *Server) devicesAsking(w http.ResponseWriter, r *http.Request) error {
	d, err := s.deviceAdmin()
	if err != nil {
		return err
	}
	list, err := d.Asking()
	if err != nil {
		return s.deviceError(d, err)
	}
	writeJSON(w, http.StatusOK, map[string]any{"asking": list})
	return nil
}

func (s *Server) deviceAccounts(w http.ResponseWriter, r *http.Request) error {
	d, err := s.deviceAdmin()
	if err != nil {
		return err
	}
	list, err := d.Accounts()
	if err != nil {
		return s.deviceError(d, err)
	}
	writeJSON(w, http.StatusOK, map[string]any{"accounts": list})
	return nil
}

func (s *Server) deviceStatus(w http.ResponseWriter, r *http.Request) error {
	d, err := s.deviceAdmin()
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, d.Status())
	return nil
}

type deviceDecisionIn struct {
	Password string `json:"password,omitempty"`
	Reason   string `json:"reason,omitempty"`
}

func (s *Server) deviceDecision(what string) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		d, err := s.deviceAdmin()
		if err != nil {
			return err
		}
		var in deviceDecisionIn
		if err := s.decodeOptional(w, r, &in); err != nil {
			return err
		}
		device, by := r.PathValue("device"), actor(r).Name
		switch what {
		case "approve":
			err = d.Approve(r.Context(), device, in.Password, by)
		case "reject":
			if in.Reason == "" {
				return &apiError{status: http.StatusBadRequest, code: CodeBadRequest,
					msg: "give the reason for rejecting the device", zhMsg: "请填写拒绝该设备的原因。"}
			}
			err = d.Reject(r.Context(), device, in.Reason, by)
		case "revoke":
			err = d.Revoke(r.Context(), device, by)
		}
		if err != nil {
			return s.deviceError(d, err)
		}
		writeJSON(w, http.StatusOK, map[string]any{"device": device, "done": what})
		return nil
	}
}

// deviceError answers a DeviceAdmin's error: 404 for an unknown device,
// 400 for a refused change, with its Chinese sentence when there is one.
func (s *Server) deviceError(d DeviceAdmin, err error) error {
	var status int
	var code string
	switch {
	case errors.Is(err, ErrNoSuchDevice):
		status, code = http.StatusNotFound, CodeNotFound
	case errors.Is(err, ErrDeviceRefused):
		status, code = http.StatusBadRequest, CodeBadRequest
	default:
		return err
	}
	return &apiError{status: status, code: code, msg: err.Error(), zhMsg: d.MessageZh(err)}
}

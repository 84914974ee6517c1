// WorkerBroker (see worker_broker.h).
#include "storage-agent/worker_broker.h"

#include "common/logging.h"
#include "common/protocol/storage_protocol.h"
#include "storage-agent/error_body.h"

namespace ringkv::storage {

namespace sp = storage_protocol;

WorkerBroker::WorkerBroker(zmq::context_t& ctx, net::Reactor* reactor, ServerCounters* counters,
                           size_t max_queue, OnReply on_reply, OnFailed on_failed)
    : ctx_(ctx),
      reactor_(reactor),
      counters_(counters),
      max_queue_(max_queue),
      on_reply_(std::move(on_reply)),
      on_failed_(std::move(on_failed)) {}

WorkerBroker::~WorkerBroker() {
  if (back_) reactor_->RemoveZmq(*back_);
}

Status WorkerBroker::Bind(const std::string& endpoint) {
  net::SocketOptions bo;
  bo.send_hwm = 0;  // bounded by the worker count: a worker holds at most one request
  bo.recv_hwm = 0;
  auto back = net::MakeSocket(ctx_, zmq::socket_type::router, bo);
  if (!back.ok()) return back.status();
  RINGKV_RETURN_IF_ERROR(net::Bind(*back, endpoint));
  back_.emplace(std::move(*back));
  // Watching the workers' socket costs nothing while they are idle: one epoll set for all.
  return reactor_->AddZmq(*back_, [this](int budget) { return OnReadable(budget); });
}

bool WorkerBroker::Submit(net::Frames& msg) {
  if (!idle_.empty()) {
    Dispatch(std::move(msg));
  } else if (pending_.size() < max_queue_) {
    pending_.push_back(std::move(msg));
  } else {
    return false;
  }
  return true;
}

void WorkerBroker::Dispatch(net::Frames msg) {
  std::string worker = std::move(idle_.front());
  idle_.pop_front();
  net::Frames out;
  out.reserve(msg.size() + 1);
  out.push_back(std::move(worker));
  for (auto& f : msg) out.push_back(std::move(f));
  // The backend queue is unbounded (a worker holds one request at most), so the send cannot
  // block: no wait for POLLOUT.
  Status ds = net::SendFrames(*back_, out, 0);
  reactor_->Kick(*back_);
  if (!ds.ok()) {
    RINGKV_LOG(kError) << "dispatch to worker failed: " << ds.ToString();
    ++counters_->errors;
    net::Frames route(out.begin() + 1, out.end() - 2);
    on_failed_(route, ErrorBody(RidOf(out.back()), sp::kErrInternal, "no worker took it"));
    return;
  }
  ++in_flight_;
}

bool WorkerBroker::OnReadable(int budget) {
  bool more = true;
  for (int i = 0; i < budget; ++i) {
    auto frames = net::RecvFrames(*back_, 0, 64);
    if (!frames.ok()) {
      more = false;
      break;
    }
    if (frames->size() < 2) continue;
    std::string worker = std::move((*frames)[0]);
    if (!(frames->size() == 2 && (*frames)[1] == kReady)) {
      // [worker][route...][""][reply]
      if (in_flight_ > 0) --in_flight_;
      on_reply_(std::span<std::string>(frames->data() + 1, frames->size() - 1));
    }
    idle_.push_back(std::move(worker));
    if (!pending_.empty()) {
      net::Frames next = std::move(pending_.front());
      pending_.pop_front();
      Dispatch(std::move(next));
    }
  }
  PublishCounters();
  return more;
}

void WorkerBroker::PublishCounters() {
  counters_->queued = pending_.size();
  counters_->in_flight = in_flight_;
}

}  // namespace ringkv::storage

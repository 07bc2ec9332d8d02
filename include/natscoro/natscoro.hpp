// natscoro: C++20 coroutines for NATS JetStream on Boost.Asio. Includes everything.
#pragma once

#include <natscoro/version.hpp>  // first: it checks the language standard

#include <natscoro/connect_options.hpp>
#include <natscoro/connection.hpp>
#include <natscoro/connection_event.hpp>
#include <natscoro/consumer.hpp>
#include <natscoro/consumer_config.hpp>
#include <natscoro/dead_letter.hpp>
#include <natscoro/envelope.hpp>
#include <natscoro/error.hpp>
#include <natscoro/event.hpp>
#include <natscoro/event_router.hpp>
#include <natscoro/jetstream.hpp>
#include <natscoro/logging.hpp>
#include <natscoro/message.hpp>
#include <natscoro/message_metadata.hpp>
#include <natscoro/metrics.hpp>
#include <natscoro/metrics_server.hpp>
#include <natscoro/outbox.hpp>
#include <natscoro/publisher.hpp>
#include <natscoro/replay.hpp>
#include <natscoro/retry_policy.hpp>
#include <natscoro/runner.hpp>
#include <natscoro/topology.hpp>

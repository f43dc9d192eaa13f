#ifndef HOSTED_CHECKOUT_CMICROHTTPD_SHIM_H
#define HOSTED_CHECKOUT_CMICROHTTPD_SHIM_H

#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <microhttpd.h>

/// How the daemon is started: everything `MHD_start_daemon` takes as varargs, as a plain struct
/// Swift can fill in.
typedef struct {
    /// Numeric IPv4 or IPv6 address to bind ("127.0.0.1", "::1", "0.0.0.0").
    const char *host;
    /// Port to bind; 0 lets the kernel choose (read it back with hc_daemon_bound_port).
    uint16_t port;
    /// Worker threads, each with its own epoll set.
    unsigned int thread_pool_size;
    /// Seconds of inactivity before a connection is closed.
    unsigned int connection_timeout;
    /// Concurrent connections allowed from one client address (0 = unlimited).
    unsigned int per_ip_connection_limit;
    /// Concurrent connections in total.
    unsigned int connection_limit;
    /// Bytes of buffer memory per connection (headers and read buffer).
    size_t connection_memory_limit;
    /// Length of the kernel accept queue.
    unsigned int listen_backlog;
} hc_daemon_config;

/// Starts a daemon with an internal thread pool using epoll, an inter-thread channel (wakes the
/// workers for the stop and for resumed connections), and suspend/resume allowed (a request whose
/// answer is made on another thread, a payment being charged, does not hold a worker). `accept_policy` is asked about every new connection before it is
/// served; refusing makes libmicrohttpd close it at once. Returns NULL when the address does not
/// parse or the daemon cannot start.
/// Wraps MHD_start_daemon, which is variadic and can't be called from Swift.
static inline struct MHD_Daemon *hc_start_daemon(const hc_daemon_config *config,
                                                 MHD_AcceptPolicyCallback accept_policy,
                                                 void *accept_policy_cls,
                                                 MHD_AccessHandlerCallback handler,
                                                 void *handler_cls,
                                                 MHD_RequestCompletedCallback completed,
                                                 void *completed_cls) {
    unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC
                       | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    struct sockaddr_storage storage;
    memset(&storage, 0, sizeof(storage));
    if (strchr(config->host, ':') != NULL) {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&storage;
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons(config->port);
        if (inet_pton(AF_INET6, config->host, &a6->sin6_addr) != 1) return NULL;
        flags |= MHD_USE_IPv6;
    } else {
        struct sockaddr_in *a4 = (struct sockaddr_in *)&storage;
        a4->sin_family = AF_INET;
        a4->sin_port = htons(config->port);
        if (inet_pton(AF_INET, config->host, &a4->sin_addr) != 1) return NULL;
    }
    return MHD_start_daemon(flags, config->port, accept_policy, accept_policy_cls, handler, handler_cls,
                            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&storage,
                            MHD_OPTION_THREAD_POOL_SIZE, config->thread_pool_size,
                            MHD_OPTION_CONNECTION_TIMEOUT, config->connection_timeout,
                            MHD_OPTION_PER_IP_CONNECTION_LIMIT, config->per_ip_connection_limit,
                            MHD_OPTION_CONNECTION_LIMIT, config->connection_limit,
                            MHD_OPTION_CONNECTION_MEMORY_LIMIT, config->connection_memory_limit,
                            MHD_OPTION_LISTEN_BACKLOG_SIZE, config->listen_backlog,
                            MHD_OPTION_NOTIFY_COMPLETED, completed, completed_cls,
                            MHD_OPTION_END);
}

/// The port the daemon listens on (useful after binding port 0), or 0 if unknown.
/// Wraps MHD_get_daemon_info, which is variadic and can't be called from Swift.
static inline uint16_t hc_daemon_bound_port(struct MHD_Daemon *daemon) {
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT);
    return info == NULL ? 0 : info->port;
}

/// Number of open connections of the daemon.
/// Wraps MHD_get_daemon_info, which is variadic and can't be called from Swift.
static inline unsigned int hc_daemon_connection_count(struct MHD_Daemon *daemon) {
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
    return info == NULL ? 0 : info->num_connections;
}

#endif

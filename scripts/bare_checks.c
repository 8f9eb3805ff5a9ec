/* The least the source document's checks can cost: a benchmark baseline (scripts/bench.sh, section 6)
 * that sends the failoverctl pair's per-checktime packets and reads their answers, and does nothing
 * else: no decisions, no state, no timers but one. What failoverctl costs above this is its own.
 *
 *   bare_checks echo SECONDS INTERVAL_MS SRC>DST ...
 *       the active: every interval an ICMP echo request from SRC to each DST (one raw socket, the
 *       source chosen per datagram by IP_PKTINFO, as failoverctl sends them), then the replies read.
 *   bare_checks arp SECONDS INTERVAL_MS DEV/SRCIP>DSTIP@DSTMAC ...
 *       the passive: every interval an ARP request for DSTIP, unicast to DSTMAC (the raw method's poll
 *       of the MAC that answered last), out of DEV (one packet socket for every device), then the
 *       replies read.
 *
 * Bounded: it ends after SECONDS. Only for the lab's own namespaces. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX 64

static long long now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000LL + t.tv_nsec / 1000000;
}

static void die(const char *what) {
    perror(what);
    exit(2);
}

static uint16_t csum(const void *p, size_t n) {
    const uint16_t *w = p;
    uint32_t s = 0;
    for (; n > 1; n -= 2) s += *w++;
    if (n) s += *(const uint8_t *)w;
    while (s >> 16) s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

struct echo { struct in_addr src, dst; };
struct arp { int ifindex; uint8_t own_mac[6], dst_mac[6]; struct in_addr src, dst; };

static void drain(int fd) {
    char buf[2048];
    while (recv(fd, buf, sizeof buf, MSG_DONTWAIT) > 0) {
    }
}

static void send_echoes(int fd, struct echo *e, int n, uint16_t seq) {
    for (int i = 0; i < n; i++) {
        struct icmphdr h = {.type = ICMP_ECHO};
        h.un.echo.id = htons((uint16_t)getpid());
        h.un.echo.sequence = htons(seq);
        h.checksum = csum(&h, sizeof h);
        struct sockaddr_in to = {.sin_family = AF_INET, .sin_addr = e[i].dst};
        char cbuf[CMSG_SPACE(sizeof(struct in_pktinfo))] = {0};
        struct iovec iov = {.iov_base = &h, .iov_len = sizeof h};
        struct msghdr m = {.msg_name = &to, .msg_namelen = sizeof to, .msg_iov = &iov,
                           .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
        struct cmsghdr *c = CMSG_FIRSTHDR(&m);
        c->cmsg_level = IPPROTO_IP;
        c->cmsg_type = IP_PKTINFO;
        c->cmsg_len = CMSG_LEN(sizeof(struct in_pktinfo));
        ((struct in_pktinfo *)CMSG_DATA(c))->ipi_spec_dst = e[i].src;
        if (sendmsg(fd, &m, 0) < 0) perror("sendmsg");
    }
}

static void send_arps(int fd, struct arp *a, int n) {
    for (int i = 0; i < n; i++) {
        uint8_t f[42];
        memcpy(f, a[i].dst_mac, 6);
        memcpy(f + 6, a[i].own_mac, 6);
        f[12] = 0x08, f[13] = 0x06;                       /* ARP */
        f[14] = 0, f[15] = 1, f[16] = 0x08, f[17] = 0;    /* Ethernet, IPv4 */
        f[18] = 6, f[19] = 4, f[20] = 0, f[21] = 1;       /* request */
        memcpy(f + 22, a[i].own_mac, 6);
        memcpy(f + 28, &a[i].src, 4);
        memset(f + 32, 0, 6);
        memcpy(f + 38, &a[i].dst, 4);
        struct sockaddr_ll to = {.sll_family = AF_PACKET, .sll_ifindex = a[i].ifindex,
                                 .sll_halen = 6, .sll_protocol = htons(ETH_P_ARP)};
        memcpy(to.sll_addr, a[i].dst_mac, 6);
        if (sendto(fd, f, sizeof f, 0, (struct sockaddr *)&to, sizeof to) < 0) perror("sendto");
    }
}

static int parse_mac(const char *s, uint8_t *mac) {
    return sscanf(s, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &mac[0], &mac[1], &mac[2], &mac[3], &mac[4],
                  &mac[5]) == 6;
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: bare_checks echo|arp SECONDS INTERVAL_MS TARGET...\n");
        return 2;
    }
    int is_echo = strcmp(argv[1], "echo") == 0;
    long long secs = atoll(argv[2]), interval = atoll(argv[3]);
    if (secs <= 0 || secs > 600 || interval < 10) {
        fprintf(stderr, "bare_checks: SECONDS 1..600, INTERVAL_MS at least 10\n");
        return 2;
    }
    int n = 0, fd;
    struct echo echoes[MAX];
    struct arp arps[MAX];
    if (is_echo) {
        fd = socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK, IPPROTO_ICMP);
        if (fd < 0) die("socket");
        for (int i = 4; i < argc && n < MAX; i++, n++) {
            char *gt = strchr(argv[i], '>');
            if (!gt) return fprintf(stderr, "bad target %s\n", argv[i]), 2;
            *gt = 0;
            if (!inet_aton(argv[i], &echoes[n].src) || !inet_aton(gt + 1, &echoes[n].dst))
                return fprintf(stderr, "bad address in %s\n", argv[i]), 2;
        }
    } else {
        fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK, htons(ETH_P_ARP));
        if (fd < 0) die("socket");
        for (int i = 4; i < argc && n < MAX; i++, n++) {
            char *sl = strchr(argv[i], '/'), *gt = strchr(argv[i], '>'), *at = strchr(argv[i], '@');
            if (!sl || !gt || !at) return fprintf(stderr, "bad target %s\n", argv[i]), 2;
            *sl = *gt = *at = 0;
            struct ifreq ifr = {0};
            snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", argv[i]);
            if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) die(argv[i]);
            memcpy(arps[n].own_mac, ifr.ifr_hwaddr.sa_data, 6);
            arps[n].ifindex = (int)if_nametoindex(argv[i]);
            if (!arps[n].ifindex || !inet_aton(sl + 1, &arps[n].src) ||
                !inet_aton(gt + 1, &arps[n].dst) || !parse_mac(at + 1, arps[n].dst_mac))
                return fprintf(stderr, "bad target %s\n", argv[i]), 2;
        }
    }
    long long end = now_ms() + secs * 1000, next = now_ms();
    uint16_t seq = 0;
    for (;;) {
        long long t = now_ms();
        if (t >= end) return 0;
        if (t >= next) {
            if (is_echo)
                send_echoes(fd, echoes, n, ++seq);
            else
                send_arps(fd, arps, n);
            next += interval;
        }
        struct pollfd p = {.fd = fd, .events = POLLIN};
        long long wait = next - now_ms();
        if (poll(&p, 1, wait < 0 ? 0 : (int)wait) > 0) drain(fd);
    }
}

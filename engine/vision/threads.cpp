#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>
#include "threads.h"

void heshen_set_num_threads(int n) { cv::setNumThreads(n); }

int heshen_check_onnx(const char *data, size_t len) {
    try {
        cv::dnn::Net net = cv::dnn::readNetFromONNX(data, len);
        return net.empty() ? 0 : 1;
    } catch (...) {
        return 0;
    }
}

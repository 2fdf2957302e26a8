from .silog_loss import SiLogLoss, silog_loss

__all__ = ['silog_loss', 'SiLogLoss']
